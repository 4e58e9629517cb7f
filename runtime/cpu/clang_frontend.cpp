#include "runtime/cpu/clang_frontend.h"

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/Version.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Driver/Compilation.h>
#include <clang/Driver/Driver.h>
#include <clang/Driver/Job.h>
#include <clang/Driver/Tool.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Lex/PreprocessorOptions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/raw_ostream.h>

#ifndef KILN_CLANG_EXECUTABLE
#error "KILN_CLANG_EXECUTABLE must name clang's path; the driver derives the resource dir from it"
#endif

namespace kiln::runtime::detail {

namespace {

// The driver turns user-level flags (-march=native, -O3, -ffast-math) into one cc1 command,
// finding the host CPU, the resource dir and the GCC installation's include paths on the way.
bool driver_to_cc1(const std::string& file_name, const std::vector<std::string>& flags,
                   clang::DiagnosticsEngine& diags, llvm::raw_ostream& log,
                   std::vector<std::string>& cc1) {
  clang::driver::Driver driver(KILN_CLANG_EXECUTABLE, llvm::sys::getProcessTriple(), diags);
  driver.setCheckInputsExist(false);
  std::vector<const char*> argv{KILN_CLANG_EXECUTABLE, "-c"};
  for (const std::string& f : flags)
    argv.push_back(f.c_str());
  argv.push_back(file_name.c_str());

  std::unique_ptr<clang::driver::Compilation> compilation(driver.BuildCompilation(argv));
  if (!compilation || diags.hasErrorOccurred())
    return false;
  const clang::driver::JobList& jobs = compilation->getJobs();
  if (jobs.size() != 1 || jobs.begin()->getCreator().getName() != std::string_view("clang")) {
    log << "error: the flags do not describe one C++ compile job:";
    for (const std::string& f : flags)
      log << ' ' << f;
    log << '\n';
    return false;
  }
  const llvm::opt::ArgStringList& args = jobs.begin()->getArguments();
  // The list starts with "-cc1", which CreateFromArgs does not expect.
  for (size_t i = 0; i < args.size(); ++i)
    if (i > 0 || std::string_view(args[i]) != "-cc1")
      cc1.emplace_back(args[i]);
  return true;
}

} // namespace

FrontendResult run_clang_frontend(std::string_view source, const std::string& file_name,
                                  const std::vector<std::string>& driver_flags,
                                  llvm::LLVMContext& context) {
  FrontendResult result;
  llvm::raw_string_ostream log(result.diagnostics);

  auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
  diag_opts->ShowColors = false;
  clang::DiagnosticsEngine driver_diags(llvm::makeIntrusiveRefCnt<clang::DiagnosticIDs>(),
                                        diag_opts,
                                        new clang::TextDiagnosticPrinter(log, diag_opts.get()));
  std::vector<std::string> cc1;
  if (!driver_to_cc1(file_name, driver_flags, driver_diags, log, cc1)) {
    log.flush();
    return result;
  }
  std::vector<const char*> cc1_argv;
  for (const std::string& a : cc1)
    cc1_argv.push_back(a.c_str());

  auto ci = std::make_unique<clang::CompilerInstance>();
  if (!clang::CompilerInvocation::CreateFromArgs(ci->getInvocation(), cc1_argv, driver_diags) ||
      driver_diags.hasErrorOccurred()) {
    log.flush();
    return result;
  }
  // The driver asks cc1 to leak its ASTs and module (-disable-free) because a compiler process
  // exits right after; here the process goes on, so free them.
  ci->getFrontendOpts().DisableFree = false;
  ci->getCodeGenOpts().DisableFree = false;
  ci->getDiagnosticOpts().ShowColors = false;
  ci->createDiagnostics(new clang::TextDiagnosticPrinter(log, &ci->getDiagnosticOpts()),
                        /*ShouldOwnClient=*/true);
  // Otherwise "N errors generated." goes to stderr.
  ci->setVerboseOutputStream(log);
  ci->getPreprocessorOpts().addRemappedFile(
      file_name, llvm::MemoryBuffer::getMemBufferCopy(source, file_name).release());

  clang::EmitLLVMOnlyAction action(&context);
  if (ci->ExecuteAction(action))
    result.module = action.takeModule();
  log.flush();
  return result;
}

std::string clang_full_version() {
  return clang::getClangFullVersion();
}

} // namespace kiln::runtime::detail
