#pragma once
// In-process CPU JIT: self-contained C++ source in, callable function pointers out.
// Clang 14 compiles the source to an object file, LLVM 14 ORC links it into the process, and
// the object file is cached on disk (KernelCache), so a repeated compile skips clang entirely.
// LLVM and Clang headers stay inside cpu_jit.cpp.

#include "runtime/kernel_cache.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace kiln::runtime {

/** The LLVM optimization passes that run on clang's IR (at opt_level 1 and above). */
enum class CpuPasses {
  /** clang's own -O<opt_level> pipeline: right for any C++. */
  Clang,
  /**
   * The few passes that code written for LLVM's vectorizer needs (cpu_jit.cpp, kKernelPasses):
   * explicit vector types, padded arrays, the loops to vectorize marked, none to unroll. For
   * such code most of clang's -O2 pipeline finds nothing to do: it spent half of W1's step
   * compile. Code that leaves more to the optimizer runs slower under it.
   */
  Kernel,
};

/** How CpuJit::compile builds one source. */
struct CpuCompileOptions {
  /** Module name: names the dumped `<name>.cpp`, diagnostics and log lines. */
  std::string name = "kernel";
  /**
   * Optimisation level 0..3 (clang -O<n> and the code generator's level). 2: -O3 took ~25%
   * longer to compile kiln's kernels and ran none of the benchmarks faster.
   */
  int opt_level = 2;
  /** Which optimization passes run (part of the cache key). */
  CpuPasses passes = CpuPasses::Clang;
  /** Per source of a compile of several units, in place of `passes`: empty or one each. */
  std::vector<CpuPasses> unit_passes;
  /** Adds -ffast-math (reassociation, no NaN/Inf, approximate functions). */
  bool fast_math = false;
  /** More clang driver flags, e.g. {"-DN=4"}. They are part of the cache key. */
  std::vector<std::string> extra_flags;
};

/**
 * One compiled and linked source. Its code stays in memory while the module lives and is freed
 * when it is destroyed, so function pointers taken from it must not outlive it. Not copyable.
 */
class CpuModule {
public:
  ~CpuModule();
  CpuModule(const CpuModule&) = delete;
  CpuModule& operator=(const CpuModule&) = delete;

  /**
   * Address of the exported symbol `name` (an extern "C" name, or the mangled C++ name).
   * Throws kiln::Error naming the symbol, the module and the symbols it does define.
   */
  void* symbol(std::string_view name) const;

  /** symbol(name) as a pointer to function type F, e.g. `function<void(float*, int)>("k")`. */
  template <class F>
  F* function(std::string_view name) const {
    static_assert(std::is_function_v<F>, "function<F>: F must be a function type such as "
                                         "void(float*, int), not a pointer");
    return reinterpret_cast<F*>(symbol(name));
  }

  /** The module name given in CpuCompileOptions. */
  const std::string& name() const { return name_; }
  /** True when the object file came from the disk cache (clang did not run). */
  bool from_cache() const { return from_cache_; }
  /** Wall time of the compile() call that built this module, in milliseconds. */
  double compile_ms() const { return compile_ms_; }

  /** Releases the module's JIT resources; defined in cpu_jit.cpp. */
  struct Owner;

private:
  friend class CpuJit;
  CpuModule() = default;

  std::string name_;
  std::map<std::string, void*, std::less<>> symbols_;
  bool from_cache_ = false;
  double compile_ms_ = 0;
  std::unique_ptr<Owner> owner_;
};

/**
 * The process-wide CPU JIT. Compiles with
 * `-x c++ -std=c++17 -O<n> -march=native -fno-exceptions -fno-rtti -fPIC -ffp-contract=fast
 * -fno-math-errno`
 * (plus -ffast-math and the extra flags). Sources must be self-contained (no standard headers
 * needed, though they resolve) and must not need dynamic initialisation of globals.
 *
 * Environment: KILN_DUMP_DIR=dir writes every compiled source to `dir/<name>.cpp`;
 * KILN_DEBUG=1 prints one line per compile (cache hit or miss and the time of each phase).
 * All members are thread-safe; compiles on different threads run in parallel.
 */
class CpuJit {
public:
  /** Counters for tests: clang frontend runs and objects taken from a disk cache. */
  struct Stats {
    int64_t clang_compiles = 0;
    int64_t cache_loads = 0;
  };

  /** The one JIT of this process, created on first use. */
  static CpuJit& instance();

  CpuJit(const CpuJit&) = delete;
  CpuJit& operator=(const CpuJit&) = delete;

  /** compile(source, options, &KernelCache::default_cache()). */
  std::shared_ptr<CpuModule> compile(const std::string& source,
                                     const CpuCompileOptions& options = {});

  /**
   * Compiles `source` and links it into its own JIT library, looking up and storing the object
   * file in `cache` (nullptr: no cache). Throws kiln::CompileError when clang rejects the
   * source or the flags: what() starts with "[cpu_jit] failed to compile <name>" and holds
   * clang's diagnostics, source_path() is where the source was written.
   */
  std::shared_ptr<CpuModule> compile(const std::string& source, const CpuCompileOptions& options,
                                     KernelCache* cache);

  /**
   * Several translation units linked into one module: a unit may call the extern "C" functions
   * another defines. The units compile side by side, one thread each (a kernel split in two
   * compiles in about half the time on two cores), and each is cached on its own; the module is
   * from_cache() when every unit was. Unit i > 0 is named `<name>_part<i>.cpp` in dumps and
   * errors. Throws as compile(source, ...), for the first unit that fails.
   */
  std::shared_ptr<CpuModule> compile(const std::vector<std::string>& sources,
                                     const CpuCompileOptions& options, KernelCache* cache);

  /** Counters since process start. */
  Stats stats() const;

  /** The host id in cache keys: CPU name and feature string (e.g. "icelake-client;+avx,..."). */
  const std::string& target_id() const;
  /** The compiler id in cache keys: clang's full version string. */
  const std::string& compiler_id() const;

  struct Impl;

private:
  struct UnitTimes;
  /** The object of one unit, from `cache` or compiled (the caller stores it once it links). */
  std::string unit_object(const std::string& source, const std::string& file_name,
                          const CpuCompileOptions& options, KernelCache* cache, UnitTimes& times);
  CpuJit();
  ~CpuJit();
  std::shared_ptr<Impl> impl_;
};

} // namespace kiln::runtime
