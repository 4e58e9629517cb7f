#include "runtime/cpu/cpu_jit.h"
#include "base/debug.h"

#include "base/error.h"
#include "base/hash.h"
#include "runtime/cpu/clang_frontend.h"

#include <llvm/ADT/StringMap.h>
#include <llvm/Analysis/AliasAnalysis.h>
#include <llvm/ExecutionEngine/Orc/CompileUtils.h>
#include <llvm/ExecutionEngine/Orc/Core.h>
#include <llvm/ExecutionEngine/Orc/ExecutionUtils.h>
#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ObjectFileInterface.h>
#include <llvm/IR/DiagnosticInfo.h>
#include <llvm/IR/DiagnosticPrinter.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/CommandLine.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <unistd.h>

namespace kiln::runtime {
namespace fs = std::filesystem;
namespace orc = llvm::orc;

struct CpuJit::Impl {
  std::unique_ptr<orc::LLJIT> jit;
  orc::JITTargetMachineBuilder host;
  std::string target_id;
  std::string compiler_id;
  std::atomic<int64_t> clang_compiles{0};
  std::atomic<int64_t> cache_loads{0};
  std::atomic<uint64_t> next_dylib{0};

  explicit Impl(orc::JITTargetMachineBuilder h) : host(std::move(h)) {}
};

struct CpuModule::Owner {
  std::shared_ptr<CpuJit::Impl> impl;
  orc::JITDylib* dylib = nullptr;

  ~Owner() {
    // Frees the module's code and data; nothing may throw out of a destructor.
    if (llvm::Error err = impl->jit->getExecutionSession().removeJITDylib(*dylib))
      std::fprintf(stderr, "[cpu_jit] could not free a module: %s\n",
                   llvm::toString(std::move(err)).c_str());
  }
};

namespace {

using Clock = std::chrono::steady_clock;

// Part of every cache key. Bump it when the way objects are built changes (target options,
// code model), so that objects built the old way are not reused.
constexpr const char* kObjectFormat = "kiln-cpu-jit-1";

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// ORC reports the cause of a failed materialisation (e.g. "Symbols not found") through the
// session's error reporter, not through the failed lookup. Materialisation runs on the thread
// that looks up, so a per-thread buffer ties each message to its compile.
std::string& session_errors() {
  thread_local std::string errors;
  return errors;
}

// Module names become file names: keep them to a portable character set.
std::string file_stem(const std::string& name) {
  std::string s = name.empty() ? "kernel" : name;
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.')
      c = '_';
  return s;
}

// Writes `source` to `path`, creating its directory; returns false on any failure.
bool write_source(const fs::path& path, const std::string& source) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << source;
  out.close();
  return !ec && out.good();
}

// The CPU name and its features, sorted so the string is stable across runs.
std::string host_target_id() {
  std::string id = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> features;
  std::vector<std::string> list;
  if (llvm::sys::getHostCPUFeatures(features))
    for (const auto& f : features) {
      list.emplace_back(f.getValue() ? "+" : "-");
      list.back() += f.getKey();
    }
  std::sort(list.begin(), list.end());
  for (size_t i = 0; i < list.size(); ++i)
    id += (i == 0 ? ";" : ",") + list[i];
  return id;
}

std::vector<std::string> driver_flags(const CpuCompileOptions& o) {
  std::vector<std::string> f{
      "-x", "c++", "-std=c++17", "-O" + std::to_string(o.opt_level), "-march=native",
      "-fno-exceptions", "-fno-rtti", "-fPIC", "-ffp-contract=fast",
      // Kernels never read errno: sqrt becomes one (vectorizable) instruction.
      "-fno-math-errno"};
  if (o.fast_math)
    f.push_back("-ffast-math");
  // Clang still emits its -O IR (TBAA, inline hints, loop metadata); kKernelPasses optimize it.
  if (o.passes == CpuPasses::Kernel && o.opt_level > 0)
    f.insert(f.end(), {"-Xclang", "-disable-llvm-passes"});
  f.insert(f.end(), o.extra_flags.begin(), o.extra_flags.end());
  return f;
}

// What kiln's generated kernels need from LLVM's optimizer, in LLVM's pass-pipeline syntax. The
// kernels keep their values in explicit vectors and padded arrays, and mark the loops the
// vectorizer must take (KILN_LANES: vectorized with a predicated tail, not unrolled), so:
//  - inline the prelude's math and the shared groups, each simplified first (SROA, CSE,
//    InstCombine) as in -O2, so that kiln_pow and its like are small enough to inline;
//  - rotate the loops (the vectorizer takes rotated loops only) and hoist what does not vary;
//  - SROA again for the arrays that inlining made constant-indexed, vectorize the marked loops,
//    then clean up their masks and the blocks they left.
// clang's -O2 pipeline runs ~60 passes, several of them 3-8 times; on W1's step (1,400 IR
// instructions) it took ~60 of the ~110 ms compile, this one ~25 ms, for a step as fast
// (bench/results/2026-12-06-compile-passes.md).
constexpr const char* kKernelPasses =
    "always-inline,"
    "cgscc(inline,function(sroa,early-cse<memssa>,simplifycfg,instcombine)),"
    "function(loop(loop-rotate),loop-mssa(licm),sroa,loop-vectorize,early-cse,instcombine,"
    "simplifycfg)";

// Keeps the LLVM optimizer's and code generator's errors; drops remarks and warnings, such as
// the vectorizer's "loop not vectorized" for a marked loop of one iteration.
struct ErrorsOnly : llvm::DiagnosticHandler {
  bool handleDiagnostics(const llvm::DiagnosticInfo& d) override {
    if (d.getSeverity() == llvm::DS_Error) {
      llvm::raw_string_ostream out(errors);
      llvm::DiagnosticPrinterRawOStream printer(out);
      d.print(printer);
      out << "\n";
    }
    return true;
  }
  std::string errors;
};

// Runs kKernelPasses on `module`, tuned for `tm` (the vectorizer asks it for vector widths).
llvm::Error run_kernel_passes(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  fam.registerPass([&] { return pb.buildDefaultAAPipeline(); });
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager passes;
  if (llvm::Error err = pb.parsePassPipeline(passes, kKernelPasses))
    return err;
  passes.run(module, mam);
  return llvm::Error::success();
}

[[noreturn]] void throw_compile_error(const std::string& name, const std::string& file_name,
                                      const std::string& source, const std::string& log) {
  // Keep the failing source: in KILN_DUMP_DIR when set, else in the temp dir under a name that
  // differs per source, so concurrent failures do not overwrite each other.
  fs::path path;
  if (const char* d = std::getenv("KILN_DUMP_DIR"); d && *d)
    path = fs::path(d) / file_name;
  else {
    std::error_code ec;
    fs::path tmp = fs::temp_directory_path(ec);
    if (ec)
      tmp = "/tmp";
    path = tmp / "kiln-failed" /
           (fs::path(file_name).stem().string() + "-" + hash_hex128(source).substr(0, 12) + ".cpp");
  }
  std::string where = path.string();
  if (!write_source(path, source))
    where.clear();
  throw CompileError(str("[cpu_jit] failed to compile ", name, " (source ",
                         where.empty() ? "could not be written to " + path.string() : where, "):\n",
                         log),
                     log, where);
}

llvm::CodeGenOpt::Level codegen_level(int opt_level) {
  switch (opt_level) {
  case 0:
    return llvm::CodeGenOpt::None;
  case 1:
    return llvm::CodeGenOpt::Less;
  case 2:
    return llvm::CodeGenOpt::Default;
  default:
    return llvm::CodeGenOpt::Aggressive;
  }
}

// Object code for `module`, with a TargetMachine of its own so that threads never share one;
// kKernelPasses run first when `o` asks for them, taking `passes_ms`.
llvm::Expected<std::string> emit_object(const orc::JITTargetMachineBuilder& host,
                                        llvm::Module& module, const CpuCompileOptions& o,
                                        double& passes_ms) {
  orc::JITTargetMachineBuilder jtmb = host;
  jtmb.setCodeGenOptLevel(codegen_level(o.opt_level));
  jtmb.setRelocationModel(llvm::Reloc::PIC_);
  llvm::TargetOptions& to = jtmb.getOptions();
  to.AllowFPOpFusion = llvm::FPOpFusion::Fast; // -ffp-contract=fast
  to.UseInitArray = true; // as clang does; ORC spots dynamic initialisers by .init_array
  if (o.fast_math)
    to.UnsafeFPMath = to.NoInfsFPMath = to.NoNaNsFPMath = to.NoSignedZerosFPMath =
        to.ApproxFuncFPMath = true;
  auto tm = jtmb.createTargetMachine();
  if (!tm)
    return tm.takeError();
  module.getContext().setDiagnosticHandler(std::make_unique<ErrorsOnly>());
  const std::string& errors =
      static_cast<const ErrorsOnly*>(module.getContext().getDiagHandlerPtr())->errors;
  if (o.passes == CpuPasses::Kernel && o.opt_level > 0) {
    const auto start = std::chrono::steady_clock::now();
    if (llvm::Error err = run_kernel_passes(module, **tm))
      return err;
    passes_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  orc::SimpleCompiler compile(**tm);
  auto object = compile(module);
  if (!object)
    return object.takeError();
  if (!errors.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(), errors);
  return std::string((*object)->getBuffer());
}

/** One translation unit's object file, as compiled or loaded. */
struct Unit {
  std::string file_name;
  std::string object;
};

// Adds every object to `dylib` (one object may call what another defines) and resolves every
// symbol they define into `symbols`, so that link errors show up now rather than on first use.
// Returns "" or what went wrong.
std::string link_objects(orc::LLJIT& jit, orc::JITDylib& dylib, const std::vector<Unit>& units,
                         std::map<std::string, void*, std::less<>>& symbols) {
  orc::ExecutionSession& es = jit.getExecutionSession();
  auto generator = orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(
      jit.getDataLayout().getGlobalPrefix());
  if (!generator)
    return "cannot search the process for symbols: " + llvm::toString(generator.takeError());
  dylib.addGenerator(std::move(*generator));

  orc::SymbolLookupSet wanted;
  for (const Unit& u : units) {
    auto buffer = llvm::MemoryBuffer::getMemBufferCopy(u.object, u.file_name);
    auto interface = orc::getObjectFileInterface(es, buffer->getMemBufferRef());
    if (!interface)
      return u.file_name + " is not a valid object file: " + llvm::toString(interface.takeError());
    if (interface->InitSymbol)
      return u.file_name + " has globals that need dynamic initialisation (a constructor or a "
                           "non-constant initialiser), which the JIT does not run; make them "
                           "constexpr";
    for (const auto& entry : interface->SymbolFlags)
      wanted.add(entry.first);
    if (llvm::Error err =
            jit.getObjLinkingLayer().add(dylib, std::move(buffer), std::move(*interface)))
      return "cannot add " + u.file_name + ": " + llvm::toString(std::move(err));
  }

  session_errors().clear();
  auto found = es.lookup(
      orc::makeJITDylibSearchOrder({&dylib}, orc::JITDylibLookupFlags::MatchAllSymbols), wanted);
  if (!found)
    return "link error: " + session_errors() + llvm::toString(found.takeError());
  for (const auto& [sym, address] : *found)
    symbols.emplace((*sym).str(),
                    reinterpret_cast<void*>(static_cast<uintptr_t>(address.getAddress())));
  return "";
}

// Loop strength reduction took ~40% of code generation for the course's training steps (36 of
// ~100 ms for the regression step) and made no measurable difference to the speed of any
// kiln_bench workload (W1-W4 within noise; bench/results/2026-11-28-codegen.md). The switch is
// LLVM's own -disable-lsr, a process-wide option of the code generator, which only kiln drives
// here (clang's in-process frontend stops at optimized IR). It is part of the cache key.
constexpr const char* kCodegenFlags = "-disable-lsr";

void disable_loop_strength_reduction() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto& options = llvm::cl::getRegisteredOptions();
    if (auto it = options.find("disable-lsr"); it != options.end())
      it->second->addOccurrence(0, "disable-lsr", "true");
  });
}

} // namespace

CpuJit::CpuJit() {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::InitializeNativeTargetAsmParser();
  disable_loop_strength_reduction();
  auto host = orc::JITTargetMachineBuilder::detectHost();
  if (!host)
    throw DeviceError("[cpu_jit] cannot describe the host CPU: " +
                      llvm::toString(host.takeError()));
  auto impl = std::make_shared<Impl>(*host);
  // Objects are added ready-made, but should IR ever be added, ConcurrentIRCompiler makes one
  // TargetMachine per compile; the default shares one, which breaks with two threads.
  auto jit = orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(*host)
                 .setCompileFunctionCreator(
                     [](orc::JITTargetMachineBuilder jtmb)
                         -> llvm::Expected<std::unique_ptr<orc::IRCompileLayer::IRCompiler>> {
                       return std::make_unique<orc::ConcurrentIRCompiler>(std::move(jtmb));
                     })
                 .create();
  if (!jit)
    throw DeviceError("[cpu_jit] cannot create the LLVM JIT: " + llvm::toString(jit.takeError()));
  impl->jit = std::move(*jit);
  impl->jit->getExecutionSession().setErrorReporter(
      [](llvm::Error err) { session_errors() += llvm::toString(std::move(err)) + "\n"; });
  impl->target_id = host_target_id();
  impl->compiler_id = detail::clang_full_version() + "; codegen " + kCodegenFlags;
  impl_ = std::move(impl);
}

CpuJit::~CpuJit() = default;

CpuJit& CpuJit::instance() {
  static CpuJit jit;
  return jit;
}

CpuJit::Stats CpuJit::stats() const {
  return Stats{impl_->clang_compiles.load(), impl_->cache_loads.load()};
}

const std::string& CpuJit::target_id() const {
  return impl_->target_id;
}
const std::string& CpuJit::compiler_id() const {
  return impl_->compiler_id;
}

std::shared_ptr<CpuModule> CpuJit::compile(const std::string& source,
                                           const CpuCompileOptions& options) {
  return compile(source, options, &KernelCache::default_cache());
}

std::shared_ptr<CpuModule> CpuJit::compile(const std::string& source,
                                           const CpuCompileOptions& options, KernelCache* cache) {
  return compile(std::vector<std::string>{source}, options, cache);
}

/** What building one translation unit's object took. */
struct CpuJit::UnitTimes {
  std::string key; ///< the unit's cache key
  bool hit = false;
  double load_ms = 0, frontend_ms = 0, passes_ms = 0, codegen_ms = 0;
};

std::string CpuJit::unit_object(const std::string& source, const std::string& file_name,
                                const CpuCompileOptions& options, KernelCache* cache,
                                UnitTimes& times) {
  const std::string name = options.name.empty() ? "kernel" : options.name;
  const std::vector<std::string> flags = driver_flags(options);
  if (const char* d = std::getenv("KILN_DUMP_DIR"); d && *d)
    if (!write_source(fs::path(d) / file_name, source))
      std::fprintf(stderr, "[cpu_jit] KILN_DUMP_DIR: cannot write %s\n",
                   (fs::path(d) / file_name).c_str());

  // The file name is part of the key: it reaches the object through -main-file-name.
  std::string flag_text = std::string(kObjectFormat) + "\n" + file_name;
  if (options.passes == CpuPasses::Kernel)
    flag_text += std::string("\npasses ") + kKernelPasses;
  for (const std::string& f : flags)
    flag_text += "\n" + f;
  times.key = make_cache_key(source, flag_text, impl_->compiler_id, impl_->target_id);

  auto t = Clock::now();
  std::optional<std::string> object = cache ? cache->load(times.key) : std::nullopt;
  times.load_ms = ms_since(t);
  times.hit = object.has_value();
  if (times.hit) {
    ++impl_->cache_loads;
    return std::move(*object);
  }
  ++impl_->clang_compiles;
  llvm::LLVMContext context;
  t = Clock::now();
  detail::FrontendResult fe = detail::run_clang_frontend(source, file_name, flags, context);
  times.frontend_ms = ms_since(t);
  if (!fe.module)
    throw_compile_error(name, file_name, source, fe.diagnostics);
  t = Clock::now();
  auto emitted = emit_object(impl_->host, *fe.module, options, times.passes_ms);
  if (!emitted)
    throw_compile_error(name, file_name, source,
                        "code generation failed: " + llvm::toString(emitted.takeError()));
  times.codegen_ms = ms_since(t) - times.passes_ms;
  return std::move(*emitted);
}

std::shared_ptr<CpuModule> CpuJit::compile(const std::vector<std::string>& sources,
                                           const CpuCompileOptions& options, KernelCache* cache) {
  const auto t_start = Clock::now();
  const std::string name = options.name.empty() ? "kernel" : options.name;
  if (options.opt_level < 0 || options.opt_level > 3)
    throw Error(
        str("[cpu_jit] ", name, ": opt_level must be 0, 1, 2 or 3, got ", options.opt_level));
  if (sources.empty())
    throw Error(str("[cpu_jit] ", name, ": no source to compile"));
  if (!options.unit_passes.empty() && options.unit_passes.size() != sources.size())
    throw Error(str("[cpu_jit] ", name, ": unit_passes names ", options.unit_passes.size(),
                    " unit(s) for ", sources.size(), " source(s)"));
  auto unit_options = [&](size_t i) {
    CpuCompileOptions o = options;
    if (!options.unit_passes.empty())
      o.passes = options.unit_passes[i];
    return o;
  };

  // Units beyond the first compile on threads of their own, the first on this one.
  std::vector<Unit> units(sources.size());
  std::vector<UnitTimes> times(sources.size());
  for (size_t i = 0; i < sources.size(); ++i)
    units[i].file_name = file_stem(name) + (i == 0 ? "" : "_part" + std::to_string(i)) + ".cpp";
  std::vector<std::future<std::string>> others;
  for (size_t i = 1; i < sources.size(); ++i)
    others.push_back(std::async(std::launch::async, [&, i] {
      return unit_object(sources[i], units[i].file_name, unit_options(i), cache, times[i]);
    }));
  std::exception_ptr failed;
  try {
    units[0].object = unit_object(sources[0], units[0].file_name, unit_options(0), cache, times[0]);
  } catch (...) {
    failed = std::current_exception();
  }
  for (size_t i = 1; i < sources.size(); ++i) {
    try {
      units[i].object = others[i - 1].get();
    } catch (...) {
      if (!failed)
        failed = std::current_exception();
    }
  }
  if (failed)
    std::rethrow_exception(failed);

  // Link into a JITDylib of its own, so symbols of different modules never clash and the
  // module can be freed alone.
  auto t = Clock::now();
  auto dylib = impl_->jit->createJITDylib(name + "#" + std::to_string(impl_->next_dylib++));
  if (!dylib)
    throw InternalError("[cpu_jit] " + llvm::toString(dylib.takeError()));
  auto module = std::shared_ptr<CpuModule>(new CpuModule());
  module->owner_ = std::make_unique<CpuModule::Owner>();
  module->owner_->impl = impl_;
  module->owner_->dylib = &*dylib;
  std::string link_error = link_objects(*impl_->jit, *dylib, units, module->symbols_);
  if (!link_error.empty())
    throw_compile_error(name, units[0].file_name, sources[0], link_error);
  const double link_ms = ms_since(t);

  // Only objects that linked are worth keeping.
  bool hit = true;
  for (size_t i = 0; i < units.size(); ++i) {
    hit = hit && times[i].hit;
    if (!times[i].hit && cache)
      cache->store(times[i].key, units[i].object);
  }
  module->name_ = name;
  module->from_cache_ = hit;
  module->compile_ms_ = ms_since(t_start);
  if (debug_level() >= 1) {
    for (size_t i = 0; i < units.size(); ++i) {
      const UnitTimes& u = times[i];
      const std::string what = units.size() == 1 ? name : name + " " + units[i].file_name;
      if (u.hit)
        std::fprintf(stderr, "[cpu_jit] %s: cache hit, load %.2f ms\n", what.c_str(), u.load_ms);
      else
        std::fprintf(stderr,
                     "[cpu_jit] %s: cache %s, frontend%s %.2f ms, kernel passes %.2f ms, "
                     "codegen %.2f ms\n",
                     what.c_str(), cache && cache->enabled() ? "miss" : "off",
                     u.passes_ms > 0 ? "" : "+opt", u.frontend_ms, u.passes_ms, u.codegen_ms);
    }
    std::fprintf(stderr, "[cpu_jit] %s: %zu unit(s), link %.2f ms, total %.2f ms\n", name.c_str(),
                 units.size(), link_ms, module->compile_ms_);
  }
  return module;
}

void* CpuModule::symbol(std::string_view name) const {
  auto it = symbols_.find(name);
  if (it != symbols_.end())
    return it->second;
  std::string defined;
  for (const auto& [sym, address] : symbols_)
    defined += (defined.empty() ? "" : ", ") + sym;
  throw Error(str("[cpu_jit] module ", name_, " has no symbol '", name,
                  "' (it defines: ", defined.empty() ? "nothing" : defined, ")"));
}

CpuModule::~CpuModule() = default;

} // namespace kiln::runtime
