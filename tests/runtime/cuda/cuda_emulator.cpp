#include "cuda_emulator.h"

#include <dlfcn.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <set>

#include "base/error.h"
#include "runtime/cpu/cpu_jit.h"

// AddressSanitizer must hear of every stack switch, or it takes a fiber's frames for overflows
// of the stack it believes is current (the sanitizer fiber API; no code without ASan).
#if defined(__SANITIZE_ADDRESS__)
#define KILN_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_EMU_ASAN 1
#endif
#endif
#if defined(KILN_EMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

// Fibers switch with a few instructions instead of swapcontext (which makes a system call per
// switch): save the callee-saved registers on the old stack, switch stack pointers, restore.
#if !defined(__x86_64__)
#error "cuda_emulator.cpp switches fibers with x86-64 assembly"
#endif
extern "C" void kiln_emu_switch(void** save_sp, void* load_sp);
asm(R"(
  .text
  .p2align 4
  .globl kiln_emu_switch
  .type kiln_emu_switch, @function
kiln_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size kiln_emu_switch, .-kiln_emu_switch
)");

namespace kiln::test {

namespace {

// What the generated source needs of CUDA, as C++. Kept in step with the state struct below.
constexpr const char* kHeader = R"KILN(
#define __global__
#define __device__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
#define __restrict__ __restrict
struct kiln_emu_dim3 { unsigned x, y, z; };
struct kiln_emu_state {
  kiln_emu_dim3 threadIdx, blockIdx, blockDim, gridDim;
  unsigned char* smem;
  void (*sync)(void);
};
static kiln_emu_state* kiln_emu;
extern "C" void kiln_emu_bind(kiln_emu_state* s) { kiln_emu = s; }
#define threadIdx (kiln_emu->threadIdx)
#define blockIdx (kiln_emu->blockIdx)
#define blockDim (kiln_emu->blockDim)
#define gridDim (kiln_emu->gridDim)
#define kiln_smem (kiln_emu->smem)
#define __syncthreads() (kiln_emu->sync())
extern "C" {
float expf(float); double exp(double); float logf(float); double log(double);
float tanhf(float); double tanh(double); float erff(float); double erf(double);
float sinf(float); double sin(double); float cosf(float); double cos(double);
float powf(float, float); double pow(double, double); float sqrtf(float); double sqrt(double);
float fabsf(float); double fabs(double); float copysignf(float, float);
}
static inline float __expf(float x) { return expf(x); }
static inline float __logf(float x) { return logf(x); }
static inline float __sinf(float x) { return sinf(x); }
static inline float __cosf(float x) { return cosf(x); }
static inline float __powf(float x, float y) { return powf(x, y); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float __int_as_float(int i) { float f; __builtin_memcpy(&f, &i, 4); return f; }
static inline double __longlong_as_double(long long i) { double f; __builtin_memcpy(&f, &i, 8); return f; }
// Tensor cores: a warp's 16 x 16 tile, which every lane of the warp computes whole (the lanes
// run one after another and all call with the same arguments, so each stores the same tile).
#define KILN_HAVE_TENSOR_CORES 1
struct kiln_tc_acc { float v[256]; };
static inline void kiln_tc_zero(kiln_tc_acc& c) { for (int i = 0; i < 256; ++i) c.v[i] = 0.0f; }
// cvt.rna.tf32.f32: 10 mantissa bits, to nearest, ties away from zero.
static inline float kiln_tf32(float x) {
  unsigned u;
  __builtin_memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0x1000u) & 0xffffe000u;
  __builtin_memcpy(&x, &u, 4);
  return x;
}
static inline void kiln_tc_mma(kiln_tc_acc& c, const float* a, int lda, const float* b, int ldb) {
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) {
      float s = c.v[i * 16 + j];
      for (int k = 0; k < 8; ++k) s += kiln_tf32(a[i * lda + k]) * kiln_tf32(b[k * ldb + j]);
      c.v[i * 16 + j] = s;
    }
}
static inline void kiln_tc_store(float* d, int ldd, const kiln_tc_acc& c) {
  for (int i = 0; i < 16; ++i)
    for (int j = 0; j < 16; ++j) d[i * ldd + j] = c.v[i * 16 + j];
}
)KILN";

struct Dim3 {
  unsigned x, y, z;
};
struct State {
  Dim3 thread, block, block_dim, grid_dim;
  unsigned char* smem;
  void (*sync)();
};

constexpr size_t kStackBytes = 128 * 1024;

struct Fiber {
  void* sp = nullptr;
  bool done = false;
};

/** Runs one block's threads as fibers; only one block runs at a time per process. */
struct Block {
  std::vector<std::unique_ptr<char[]>> stacks;
  std::vector<Fiber> fibers;
  void* main_sp = nullptr;
  size_t current = 0;
  void (*entry)(void**) = nullptr;
  void** args = nullptr;
  State* state = nullptr;
  // For the sanitizer fiber API: the launching thread's stack, and ASan's fake stacks.
  const void* main_bottom = nullptr;
  size_t main_size = 0;
  void* main_fake = nullptr;
  std::vector<void*> fiber_fake;
};
Block* g_block = nullptr;
std::mutex g_launch_mutex;

// The sanitizer fiber API around each switch: announce the stack about to run (a null `save`
// says the fiber leaving ends), then confirm on the stack that runs. No-ops without ASan.
void start_switch(void** save, const void* bottom, size_t size) {
#if defined(KILN_EMU_ASAN)
  __sanitizer_start_switch_fiber(save, bottom, size);
#endif
}
void finish_switch(void* save, const void** old_bottom = nullptr, size_t* old_size = nullptr) {
#if defined(KILN_EMU_ASAN)
  __sanitizer_finish_switch_fiber(save, old_bottom, old_size);
#endif
}

void sync_threads() {
  Block& b = *g_block;
  const size_t t = b.current;
  start_switch(&b.fiber_fake[t], b.main_bottom, b.main_size);
  kiln_emu_switch(&b.fibers[t].sp, b.main_sp);
  finish_switch(b.fiber_fake[t], &b.main_bottom, &b.main_size);
}

[[noreturn]] void fiber_main() {
  Block& b = *g_block;
  finish_switch(nullptr, &b.main_bottom, &b.main_size); // first entry: no fake stack yet
  b.entry(b.args);
  b.fibers[b.current].done = true;
  void* dead = nullptr;
  start_switch(nullptr, b.main_bottom, b.main_size);
  kiln_emu_switch(&dead, b.main_sp);
  __builtin_unreachable();
}

void run_block(Block& b, unsigned threads) {
  if (b.stacks.size() < threads)
    b.stacks.resize(threads);
  b.fibers.assign(threads, Fiber{});
  b.fiber_fake.assign(threads, nullptr);
  for (unsigned t = 0; t < threads; ++t) {
    if (!b.stacks[t])
      b.stacks[t] = std::make_unique<char[]>(kStackBytes);
    auto top = reinterpret_cast<uintptr_t>(b.stacks[t].get() + kStackBytes) & ~uintptr_t{15};
    auto** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;                              // fiber_main's return address: never used
    *--sp = reinterpret_cast<void*>(&fiber_main); // where kiln_emu_switch's ret goes
    for (int r = 0; r < 6; ++r)
      *--sp = nullptr; // rbp rbx r12-r15
    b.fibers[t].sp = sp;
  }
  // Each round runs every live thread to its next barrier (or its end), so all meet there.
  for (unsigned live = threads; live > 0;) {
    for (unsigned t = 0; t < threads; ++t) {
      if (b.fibers[t].done)
        continue;
      b.current = t;
      b.state->thread = {t, 0, 0};
      start_switch(&b.main_fake, b.stacks[t].get(), kStackBytes);
      kiln_emu_switch(&b.main_sp, b.fibers[t].sp);
      finish_switch(b.main_fake);
      if (b.fibers[t].done)
        --live;
    }
  }
}

unsigned arg_size(const std::string& type) {
  if (type.find('*') != std::string::npos || type.find("long long") != std::string::npos ||
      type == "double")
    return 8;
  return 4;
}

} // namespace

struct CudaEmulator::Impl {
  std::shared_ptr<runtime::CpuModule> module;
  std::map<std::string, void (*)(void**), std::less<>> entries;
  State state{};
};

CudaEmulator::CudaEmulator(const std::string& cuda_source,
                           const std::vector<std::pair<std::string, Params>>& kernels)
    : impl_(std::make_unique<Impl>()) {
  std::string src = std::string(kHeader) + cuda_source + "\n";
  for (const auto& [name, params] : kernels) {
    src += "extern \"C\" void kiln_emu_call_" + name + "(void** a) {\n  " + name + "(";
    for (size_t i = 0; i < params.size(); ++i)
      src +=
          (i ? ", " : "") + std::string("*(") + params[i].first + "*)a[" + std::to_string(i) + "]";
    src += ");\n}\n";
  }
  impl_->module = runtime::CpuJit::instance().compile(
      src, {.name = "cuda_emulation", .opt_level = 1}, &runtime::KernelCache::default_cache());
  for (const auto& [name, params] : kernels)
    impl_->entries.emplace(name, impl_->module->function<void(void**)>("kiln_emu_call_" + name));
  impl_->module->function<void(State*)>("kiln_emu_bind")(&impl_->state);
  impl_->state.sync = &sync_threads;
}

CudaEmulator::~CudaEmulator() = default;

void CudaEmulator::launch(const std::string& name, unsigned grid, unsigned block, unsigned shared,
                          void** args) const {
  const std::lock_guard<std::mutex> lock(g_launch_mutex);
  static Block b;
  g_block = &b;
  b.entry = impl_->entries.at(name);
  b.args = args;
  b.state = &impl_->state;
  std::vector<unsigned char> smem(std::max(shared, 1u), 0xff);
  impl_->state.smem = smem.data();
  impl_->state.block_dim = {block, 1, 1};
  impl_->state.grid_dim = {grid, 1, 1};
  for (unsigned g = 0; g < grid; ++g) {
    impl_->state.block = {g, 0, 0};
    run_block(b, block);
  }
}

namespace {

struct Registration {
  std::shared_ptr<CudaEmulator> emulator;
  std::string name;
};

void run_registered(void* ctx, unsigned grid, unsigned block, unsigned shared, void** args) {
  const auto* r = static_cast<const Registration*>(ctx);
  r->emulator->launch(r->name, grid, block, shared, args);
}

} // namespace

namespace {

void register_all(void* fake_library, const std::string& source,
                  const std::vector<std::pair<std::string, CudaEmulator::Params>>& kernels) {
  using Register = void (*)(const char*, void (*)(void*, unsigned, unsigned, unsigned, void**),
                            void*, int, const unsigned*);
  auto reg = reinterpret_cast<Register>(dlsym(fake_library, "kiln_fake_cuda_register"));
  KILN_ASSERT(reg != nullptr, "the fake driver has no kiln_fake_cuda_register");
  auto emulator = std::make_shared<CudaEmulator>(source, kernels);
  static std::vector<std::unique_ptr<Registration>> keep; // the fake holds raw pointers to these
  static std::mutex keep_mutex;
  const std::lock_guard<std::mutex> lock(keep_mutex);
  for (const auto& [name, params] : kernels) {
    keep.push_back(std::make_unique<Registration>(Registration{emulator, name}));
    std::vector<unsigned> sizes;
    for (const auto& p : params)
      sizes.push_back(arg_size(p.first));
    reg(name.c_str(), &run_registered, keep.back().get(), static_cast<int>(sizes.size()),
        sizes.data());
  }
}

/** The kernels defined in a kiln CUDA source, with their parameters, read off their signatures. */
std::vector<std::pair<std::string, CudaEmulator::Params>> kernels_in(const std::string& source) {
  static const std::string kSig = "extern \"C\" __global__ void __launch_bounds__(";
  std::vector<std::pair<std::string, CudaEmulator::Params>> out;
  for (size_t pos = source.find(kSig); pos != std::string::npos; pos = source.find(kSig, pos + 1)) {
    const size_t name_at = source.find(") ", pos + kSig.size()) + 2;
    const size_t open = source.find('(', name_at), close = source.find(')', open);
    CudaEmulator::Params params;
    const std::string list = source.substr(open + 1, close - open - 1);
    for (size_t a = 0; a < list.size();) {
      size_t b = list.find(", ", a);
      if (b == std::string::npos)
        b = list.size();
      const std::string p = list.substr(a, b - a);
      const size_t space = p.rfind(' ');
      params.emplace_back(p.substr(0, space), p.substr(space + 1));
      a = b + 2;
    }
    out.emplace_back(source.substr(name_at, open - name_at), std::move(params));
  }
  return out;
}

void* g_fake = nullptr;
std::string g_dump_dir;

int resolve_from_dumps(const char* name) {
  for (const auto& entry : std::filesystem::directory_iterator(g_dump_dir)) {
    if (entry.path().extension() != ".cu")
      continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string source{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (source.find(std::string(name) + "(") == std::string::npos)
      continue;
    register_all(g_fake, source, kernels_in(source));
    return 1;
  }
  return 0;
}

} // namespace

void emulate_on_fake_driver(const codegen::CudaKernel& k, void* fake_library) {
  std::vector<std::pair<std::string, CudaEmulator::Params>> kernels;
  for (const codegen::CudaPlan& p : k.plans)
    for (const codegen::CudaLaunch& l : p.launches) {
      bool seen = false;
      for (const auto& kv : kernels)
        seen = seen || kv.first == l.kernel;
      if (!seen)
        kernels.emplace_back(l.kernel, k.step_params);
    }
  if (!k.epoch_kernel.empty())
    kernels.emplace_back(k.epoch_kernel, k.epoch_params);
  register_all(fake_library, k.source, kernels);
}

void emulate_dumped_sources(void* fake_library, const std::string& dump_dir) {
  g_fake = fake_library;
  g_dump_dir = dump_dir;
  auto set = reinterpret_cast<void (*)(int (*)(const char*))>(
      dlsym(fake_library, "kiln_fake_cuda_set_resolver"));
  KILN_ASSERT(set != nullptr, "the fake driver has no kiln_fake_cuda_set_resolver");
  set(&resolve_from_dumps);
}

} // namespace kiln::test
