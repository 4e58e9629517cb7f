#pragma once

namespace kiln::codegen {

/**
 * The full text of kiln_math.h (the math every generated CPU kernel starts with), embedded at
 * build time. Paste it verbatim at the top of generated C++; it includes nothing and defines
 * kiln_exp, kiln_log, kiln_tanh, ... for float and double.
 */
extern const char* const kKilnMathSource;

} // namespace kiln::codegen
