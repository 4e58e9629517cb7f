#pragma once
// What the numbers were measured on: the CPU, and the BLAS that the framework peer actually
// loaded (library, build configuration and the kernel set it picked).

#include <string>

namespace kiln::bench {

/**
 * OpenBLAS 0.3.21 reads OPENBLAS_CORETYPE once, in a constructor that runs when the library is
 * loaded, and does not recognise recent Xeons (it falls back to slow generic kernels). When an
 * OpenBLAS is linked in, the variable is unset and the CPU has AVX-512, this sets it to
 * "SkylakeX" and re-executes the program (argv unchanged) so the loader starts over with it.
 * Returns normally otherwise, including when the re-exec fails (the context then shows the core
 * that was really used). Call it first thing in main.
 */
void pin_openblas_core(char** argv);

/** The BLAS in this process, as reported by OpenBLAS itself and the dynamic loader. */
struct BlasInfo {
  std::string libraries;    ///< resolved paths of loaded objects named *blas*, comma-separated
  std::string config;       ///< openblas_get_config(), or "none" when no OpenBLAS is loaded
  std::string core;         ///< openblas_get_corename(), or "none"
  int threads = 0;          ///< openblas_get_num_threads(), 0 when unknown
  std::string coretype_env; ///< OPENBLAS_CORETYPE as the process sees it, "" when unset
};

/** Inspects the loaded objects (dl_iterate_phdr) and OpenBLAS's introspection (dlsym). */
BlasInfo loaded_blas();

/** The CPU's model name from /proc/cpuinfo ("unknown" when unreadable). */
std::string cpu_model();

} // namespace kiln::bench
