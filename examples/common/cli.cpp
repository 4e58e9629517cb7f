#include "examples/common/cli.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string_view>

namespace kiln::examples {

namespace {
[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "error: %s (see --help)\n", what.c_str());
  std::exit(2);
}

/** Ends the program on an uncaught error with its message, not an abort. */
[[noreturn]] void report_and_exit() {
  try {
    if (std::exception_ptr e = std::current_exception())
      std::rethrow_exception(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "error: unknown exception\n");
  }
  std::fflush(stderr);
  std::_Exit(1);
}

template <class T>
T number(std::string_view flag, const char* text) {
  char* end = nullptr;
  const double v = std::strtod(text, &end);
  if (end == text || *end != '\0')
    fail(std::string(flag) + " expects a number, got '" + text + "'");
  return static_cast<T>(v);
}
} // namespace

Options parse_options(int argc, char** argv, Options o, const std::string& about) {
  std::set_terminate(report_and_exit);
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "%s\n\noptions (defaults are the course's):\n"
          "  --epochs N       %d\n  --batch-size N   %d\n  --lr X           %g\n"
          "  --seed N         %llu\n  --device D       %s (cpu or cuda)\n  --out DIR        %s\n",
          about.c_str(), o.epochs, o.batch_size, o.lr, static_cast<unsigned long long>(o.seed),
          o.device.c_str(), o.out.c_str());
      std::exit(0);
    }
    if (i + 1 >= argc)
      fail(std::string(a) + " needs a value");
    const char* v = argv[++i];
    if (a == "--epochs")
      o.epochs = number<int>(a, v);
    else if (a == "--batch-size")
      o.batch_size = number<int>(a, v);
    else if (a == "--lr")
      o.lr = number<double>(a, v);
    else if (a == "--seed")
      o.seed = number<uint64_t>(a, v);
    else if (a == "--device")
      o.device = v;
    else if (a == "--out")
      o.out = v;
    else
      fail("unknown option " + std::string(a));
  }
  if (o.epochs < 0 || o.batch_size < 1 || !(o.lr > 0))
    fail("epochs must be >= 0, batch size >= 1 and lr > 0");
  device(o); // validates the name
  return o;
}

std::string prepare_out(const Options& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec)
    fail("cannot create the output folder " + o.out + ": " + ec.message());
  return o.out + "/";
}

void print_result(const std::vector<std::pair<std::string, double>>& values) {
  std::printf("result:");
  for (const auto& [k, v] : values)
    std::printf(" %s=%.6g", k.c_str(), v);
  std::printf("\n");
  std::fflush(stdout);
}

Device device(const Options& o) {
  if (o.device == "cpu")
    return Device::cpu();
  if (o.device == "cuda")
    return Device::cuda(0);
  if (o.device.starts_with("cuda:"))
    return Device::cuda(number<int>("--device", o.device.c_str() + 5));
  fail("unknown device '" + o.device + "' (cpu, cuda or cuda:<index>)");
}

} // namespace kiln::examples
