#include "runtime/cuda/nvrtc.h"

#include "base/error.h"
#include "base/hash.h"
#include "runtime/kernel_cache.h"

#include <nvrtc.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#ifndef KILN_CUDA_INCLUDE_DIR
#error "runtime/cuda/CMakeLists.txt defines KILN_CUDA_INCLUDE_DIR from CUDAToolkit_INCLUDE_DIRS"
#endif

namespace kiln::runtime {
namespace {

namespace fs = std::filesystem;

std::string program_name(const NvrtcOptions& o) {
  return o.name.empty() ? "kernel" : o.name;
}

std::string arch_name(const NvrtcOptions& o) {
  return str(o.cubin ? "sm_" : "compute_", o.sm);
}

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

// A file name that cannot climb out of the dump directory or trip up a shell.
std::string file_stem(const std::string& name) {
  std::string s = name.empty() || name[0] == '.' ? "k" : "";
  for (char c : name)
    s += std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '_';
  return s;
}

// Writes `source` to `path`; returns false (never throws) so a failed dump cannot hide the
// compile error that asked for it.
bool write_file(const fs::path& path, const std::string& source) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(source.data(), static_cast<std::streamsize>(source.size()));
  return static_cast<bool>(out.flush());
}

std::optional<fs::path> dump_dir() {
  const char* d = std::getenv("KILN_DUMP_DIR");
  if (d == nullptr || d[0] == '\0')
    return std::nullopt;
  return fs::path(d);
}

// Where the source of a failed compile goes: beside the other dumps when KILN_DUMP_DIR is set,
// else a content-named file in the temp directory (the same source always lands in one file).
std::string dump_failed_source(const std::string& source, const std::string& name) {
  fs::path path;
  if (auto dir = dump_dir()) {
    path = *dir / (file_stem(name) + ".cu");
  } else {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    if (ec)
      tmp = "/tmp";
    path = tmp / "kiln-nvrtc" / (file_stem(name) + "-" + hash_hex128(source).substr(0, 16) + ".cu");
  }
  return write_file(path, source) ? path.string() : std::string();
}

std::string join(const std::vector<std::string>& parts, const char* sep) {
  std::string out;
  for (const std::string& p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string join(const std::vector<int>& parts) {
  std::string out;
  for (int p : parts)
    out += str(out.empty() ? "" : " ", p);
  return out;
}

// Owns one nvrtcProgram.
class Program {
public:
  Program(const std::string& source, const std::string& name) {
    const std::string file = name + ".cu";
    nvrtcResult r = nvrtcCreateProgram(&prog_, source.c_str(), file.c_str(), 0, nullptr, nullptr);
    if (r != NVRTC_SUCCESS)
      throw DeviceError(
          str("[nvrtc] nvrtcCreateProgram(", file, ") failed: ", nvrtcGetErrorString(r)));
  }
  ~Program() { nvrtcDestroyProgram(&prog_); }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  nvrtcResult compile(const std::vector<std::string>& flags) {
    std::vector<const char*> argv;
    for (const std::string& f : flags)
      argv.push_back(f.c_str());
    return nvrtcCompileProgram(prog_, static_cast<int>(argv.size()), argv.data());
  }

  std::string log() const {
    size_t n = 0;
    if (nvrtcGetProgramLogSize(prog_, &n) != NVRTC_SUCCESS || n == 0)
      return {};
    std::string s(n, '\0');
    if (nvrtcGetProgramLog(prog_, s.data()) != NVRTC_SUCCESS)
      return {};
    while (!s.empty() && s.back() == '\0')
      s.pop_back();
    return s;
  }

  std::string binary(bool cubin) const {
    size_t n = 0;
    std::string s;
    nvrtcResult r = cubin ? nvrtcGetCUBINSize(prog_, &n) : nvrtcGetPTXSize(prog_, &n);
    if (r == NVRTC_SUCCESS) {
      s.resize(n);
      r = cubin ? nvrtcGetCUBIN(prog_, s.data()) : nvrtcGetPTX(prog_, s.data());
    }
    if (r != NVRTC_SUCCESS || n == 0)
      throw DeviceError(str("[nvrtc] reading the ", cubin ? "CUBIN" : "PTX",
                            " failed: ", nvrtcGetErrorString(r)));
    if (!cubin)
      while (!s.empty() && s.back() == '\0')
        s.pop_back();
    return s;
  }

private:
  nvrtcProgram prog_ = nullptr;
};

// The binary depends on the source, every flag, the NVRTC release and the target; the key
// covers all four, so a warm run never runs NVRTC and a changed input never hits a stale entry.
std::string cache_key(const std::string& source, const std::vector<std::string>& flags,
                      const NvrtcOptions& o) {
  return make_cache_key(source, join(flags, " "), "nvrtc " + nvrtc_version(), arch_name(o));
}

KernelCache& cache_of(const NvrtcOptions& o) {
  return o.cache != nullptr ? *o.cache : KernelCache::default_cache();
}

} // namespace

std::string nvrtc_version() {
  int major = 0, minor = 0;
  if (nvrtcVersion(&major, &minor) != NVRTC_SUCCESS)
    return "unknown";
  return str(major, ".", minor);
}

const std::vector<int>& nvrtc_supported_archs() {
  static const std::vector<int> archs = [] {
    int n = 0;
    std::vector<int> v;
    if (nvrtcGetNumSupportedArchs(&n) == NVRTC_SUCCESS && n > 0) {
      v.resize(static_cast<size_t>(n));
      if (nvrtcGetSupportedArchs(v.data()) != NVRTC_SUCCESS)
        v.clear();
    }
    std::sort(v.begin(), v.end());
    return v;
  }();
  return archs;
}

std::vector<std::string> nvrtc_flags(const NvrtcOptions& o) {
  std::vector<std::string> f = {
      "--std=c++17",
      str("-arch=", arch_name(o)),
      "-default-device",
      "--extra-device-vectorization",
      str("--include-path=", KILN_CUDA_INCLUDE_DIR),
  };
  if (o.fast_math)
    f.emplace_back("--use_fast_math");
  f.insert(f.end(), o.extra.begin(), o.extra.end());
  return f;
}

NvrtcResult nvrtc_compile(const std::string& source, const NvrtcOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const std::string name = program_name(o);
  const std::string arch = arch_name(o);
  const bool debug = env_on("KILN_DEBUG");
  auto ms_since = [&] {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  };

  const std::vector<int>& archs = nvrtc_supported_archs();
  if (std::find(archs.begin(), archs.end(), o.sm) == archs.end())
    throw CompileError(str("[nvrtc] failed to compile ", name, " for ", arch, ": NVRTC ",
                           nvrtc_version(), " does not support ", o.sm,
                           "; supported: ", join(archs)),
                       "", "");

  if (auto dir = dump_dir())
    write_file(*dir / (file_stem(name) + ".cu"), source);

  const std::vector<std::string> flags = nvrtc_flags(o);
  NvrtcResult result;
  result.is_cubin = o.cubin;
  std::string key;
  if (o.use_cache) {
    key = cache_key(source, flags, o);
    if (std::optional<std::string> hit = cache_of(o).load(key)) {
      result.binary = std::move(*hit);
      result.from_cache = true;
      result.compile_ms = ms_since();
      if (debug)
        std::fprintf(stderr, "[nvrtc] %s %s: cache hit, %zu bytes, %.2f ms\n", name.c_str(),
                     arch.c_str(), result.binary.size(), result.compile_ms);
      return result;
    }
  }

  Program prog(source, name);
  const nvrtcResult r = prog.compile(flags);
  result.log = prog.log();
  if (r != NVRTC_SUCCESS) {
    const std::string path = dump_failed_source(source, name);
    std::string log = result.log;
    if (!log.empty() && log.back() != '\n')
      log += '\n';
    throw CompileError(str("[nvrtc] failed to compile ", name, " for ", arch, ": ",
                           nvrtcGetErrorString(r), "\n", log,
                           path.empty() ? "(the source could not be dumped)" : "source: " + path),
                       result.log, path);
  }
  result.binary = prog.binary(o.cubin);
  result.compile_ms = ms_since();
  if (o.use_cache)
    cache_of(o).store(key, result.binary);
  if (debug)
    std::fprintf(stderr, "[nvrtc] %s %s: %s, %zu bytes, %.1f ms\n", name.c_str(), arch.c_str(),
                 o.cubin ? "cubin" : "ptx", result.binary.size(), result.compile_ms);
  return result;
}

int pick_sm(int compute_capability, const std::vector<int>& supported) {
  int best = 0;
  for (int s : supported)
    if (s <= compute_capability)
      best = std::max(best, s);
  if (best == 0)
    throw DeviceError(str("[nvrtc] device sm_", compute_capability,
                          " is older than every architecture NVRTC ", nvrtc_version(),
                          " supports: ", join(supported)));
  return best;
}

int pick_sm(const DeviceInfo& device) {
  return pick_sm(device.compute_capability(), nvrtc_supported_archs());
}

bool cubin_runs_on(int sm, const DeviceInfo& device) {
  return sm / 10 == device.cc_major && sm % 10 <= device.cc_minor;
}

NvrtcOptions nvrtc_options_for(const DeviceInfo& device, std::string name) {
  NvrtcOptions o;
  o.name = std::move(name);
  o.sm = pick_sm(device);
  o.cubin = cubin_runs_on(o.sm, device);
  return o;
}

} // namespace kiln::runtime
