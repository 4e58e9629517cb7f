#include "bench/harness/machine_info.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

namespace kiln::bench {

namespace {

template <class Fn>
Fn openblas_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

int collect_blas(dl_phdr_info* info, size_t, void* out) {
  const std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("blas") != std::string::npos) {
    std::error_code ec;
    const auto real = std::filesystem::canonical(name, ec);
    static_cast<std::set<std::string>*>(out)->insert(ec ? name : real.string());
  }
  return 0;
}

} // namespace

void pin_openblas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr)
    return; // the user's choice wins
  if (openblas_symbol<const char* (*)()>("openblas_get_corename") == nullptr)
    return;
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f"))
    return;
  setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
  execv("/proc/self/exe", argv);
  // exec failed: carry on with the core OpenBLAS picked; loaded_blas() will say which.
}

BlasInfo loaded_blas() {
  BlasInfo info;
  std::set<std::string> libs;
  dl_iterate_phdr(collect_blas, &libs);
  for (const auto& l : libs)
    info.libraries += (info.libraries.empty() ? "" : ",") + l;
  if (info.libraries.empty())
    info.libraries = "none";
  auto config = openblas_symbol<const char* (*)()>("openblas_get_config");
  auto core = openblas_symbol<const char* (*)()>("openblas_get_corename");
  auto threads = openblas_symbol<int (*)()>("openblas_get_num_threads");
  info.config = config ? config() : "none";
  info.core = core ? core() : "none";
  info.threads = threads ? threads() : 0;
  const char* env = std::getenv("OPENBLAS_CORETYPE");
  info.coretype_env = env ? env : "";
  return info;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos && colon + 2 <= line.size())
        return line.substr(colon + 2);
    }
  return "unknown";
}

} // namespace kiln::bench
