// kKilnMathSource is the text of kiln_math.h, and that text stands alone.

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "base/error.h"
#include "codegen/prelude/kiln_math_source.h"

TEST_CASE("kKilnMathSource is the current text of kiln_math.h", "[kiln_math]") {
  std::ifstream in(KILN_SOURCE_DIR "/codegen/prelude/kiln_math.h");
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  CHECK(std::string(kiln::codegen::kKilnMathSource) == text.str());
}

TEST_CASE("kiln_math.h includes nothing and names nothing from std", "[kiln_math]") {
  const std::string src = kiln::codegen::kKilnMathSource;
  CHECK(src.find("#include") == std::string::npos);
  CHECK(src.find("std::") == std::string::npos);
  CHECK(src.find("#pragma once") == std::string::npos); // it is also compiled as a main file
  for (const char* f : {"kiln_exp", "kiln_log", "kiln_tanh", "kiln_sigmoid", "kiln_expm1",
                        "kiln_log1p", "kiln_erf", "kiln_sin", "kiln_cos", "kiln_pow", "kiln_sqrt",
                        "kiln_abs", "kiln_relu", "kiln_max", "kiln_min"}) {
    INFO(f);
    CHECK(src.find(kiln::str("using kiln_math::", f, ";")) != std::string::npos);
  }
}
