#pragma once
// Internal to kiln_cpu_jit: the clang half of CpuJit (source text → optimised LLVM module).
// Kept in its own translation unit because the clang headers are slow to compile.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace kiln::runtime::detail {

/** What one clang run produced: a module on success, else only diagnostics. */
struct FrontendResult {
  std::unique_ptr<llvm::Module> module;
  /** Everything clang printed (errors, warnings, notes), without colours. */
  std::string diagnostics;
};

/**
 * Runs the clang driver on `driver_flags` (the -march=native kind of flags need it) and then
 * the cc1 frontend and the -O pipeline on `source`, which is seen as the file `file_name`.
 * The module lives in `context`. Thread-safe: every call has its own CompilerInstance.
 */
FrontendResult run_clang_frontend(std::string_view source, const std::string& file_name,
                                  const std::vector<std::string>& driver_flags,
                                  llvm::LLVMContext& context);

/** clang's full version string, e.g. "Debian clang version 14.0.6". */
std::string clang_full_version();

} // namespace kiln::runtime::detail
