#include "aot/generator.h"

#include <cstdio>
#include <exception>
#include <optional>
#include <utility>

#include "base/error.h"

namespace kiln::aot {

namespace {

constexpr const char* kUsage =
    "usage: <generator> --name <identifier> --out-dir <folder> [--cuda] [args...]";

/** "--flag value" or "--flag=value" at args[i]: the value and how many arguments it took. */
std::optional<std::pair<std::string, size_t>> match(const std::vector<std::string>& args, size_t i,
                                                    std::string_view flag) {
  const std::string& a = args[i];
  if (a == flag) {
    if (i + 1 == args.size())
      throw Error(str("[aot generator] ", flag, " needs a value; ", kUsage));
    return std::pair{args[i + 1], size_t{2}};
  }
  if (a.size() > flag.size() && a.compare(0, flag.size(), flag) == 0 && a[flag.size()] == '=')
    return std::pair{a.substr(flag.size() + 1), size_t{1}};
  return std::nullopt;
}

} // namespace

bool GeneratorArgs::has(std::string_view flag) const {
  for (const std::string& a : args)
    if (a == flag ||
        (a.size() > flag.size() && a.compare(0, flag.size(), flag) == 0 && a[flag.size()] == '='))
      return true;
  return false;
}

std::string GeneratorArgs::value(std::string_view flag, std::string fallback) const {
  for (size_t i = 0; i < args.size(); ++i)
    if (const auto m = match(args, i, flag))
      return m->first;
  return fallback;
}

GeneratorArgs parse_generator_args(int argc, const char* const* argv) {
  std::vector<std::string> all;
  for (int i = 1; i < argc; ++i)
    all.emplace_back(argv[i]);
  GeneratorArgs out;
  bool named = false, placed = false;
  for (size_t i = 0; i < all.size();) {
    if (const auto m = match(all, i, "--name")) {
      out.name = m->first;
      named = true;
      i += m->second;
    } else if (const auto d = match(all, i, "--out-dir")) {
      out.out_dir = d->first;
      placed = true;
      i += d->second;
    } else if (all[i] == "--cuda") {
      out.cuda = true;
      ++i;
    } else {
      out.args.push_back(all[i++]);
    }
  }
  if (!named || out.name.empty())
    throw Error(str("[aot generator] --name is missing or empty; ", kUsage));
  if (!placed || out.out_dir.empty())
    throw Error(str("[aot generator] --out-dir is missing or empty; ", kUsage));
  return out;
}

int generator_main(int argc, const char* const* argv,
                   const std::function<AotSpec(const GeneratorArgs&)>& make_spec) {
  const char* program = argc > 0 ? argv[0] : "generator";
  try {
    const GeneratorArgs args = parse_generator_args(argc, argv);
    AotSpec spec = make_spec(args);
    spec.name = args.name;
    spec.out_dir = args.out_dir;
    spec.cuda = args.cuda;
    emit(spec);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    return 1;
  }
}

} // namespace kiln::aot
