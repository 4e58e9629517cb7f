// CPU JIT latency: cold compile (clang + codegen + link, fresh cache) and warm load (object from
// the disk cache + link) of a representative self-contained kernel: a 1-14-10-1 MLP's forward,
// backward and Adam update in plain loops, about what kiln generates for one training step.
// Before timing it trains the MLP on y = sin(x) for a while, so the kernel is known to work.

#include "runtime/jit/cpu_jit.h"

#include <benchmark/benchmark.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using kiln::runtime::CpuCompileOptions;
using kiln::runtime::CpuJit;
using kiln::runtime::KernelCache;
namespace fs = std::filesystem;

const char* const kMlpSource = R"(// mlp_1_14_10_1: tanh, sigmoid, linear; MSE loss; Adam.
namespace {
constexpr int kIn = 1, kH1 = 14, kH2 = 10, kOut = 1;
constexpr int kW1 = 0, kB1 = kW1 + kH1 * kIn, kW2 = kB1 + kH1, kB2 = kW2 + kH2 * kH1;
constexpr int kW3 = kB2 + kH2, kB3 = kW3 + kOut * kH2, kParams = kB3 + kOut;

inline float clampf(float x, float lo, float hi) { return x < lo ? lo : (x > hi ? hi : x); }

// Pade (7,6) approximation of tanh, exact to ~1e-6 on [-4.5, 4.5].
inline float tanh_approx(float x) {
  x = clampf(x, -4.5f, 4.5f);
  float x2 = x * x;
  float p = x * (135135.0f + x2 * (17325.0f + x2 * (378.0f + x2)));
  float q = 135135.0f + x2 * (62370.0f + x2 * (3150.0f + x2 * 28.0f));
  return p / q;
}

// exp(x) = 2^i * 2^f, with 2^f from a degree-5 polynomial and 2^i built in the exponent bits.
inline float exp_approx(float x) {
  float t = clampf(x, -80.0f, 80.0f) * 1.44269504f;
  float fi = __builtin_floorf(t);
  float f = t - fi;
  float p = 1.0f + f * (0.69314718f + f * (0.24022651f + f * (0.05550411f +
                    f * (0.00961813f + f * 0.00133336f))));
  int bits = (static_cast<int>(fi) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float sigmoid_approx(float x) { return 1.0f / (1.0f + exp_approx(-x)); }

struct Activations {
  float a1[kH1];
  float a2[kH2];
  float out;
};

inline void forward(const float* p, float x, Activations& act) {
  for (int i = 0; i < kH1; ++i) act.a1[i] = tanh_approx(p[kW1 + i] * x + p[kB1 + i]);
  for (int j = 0; j < kH2; ++j) {
    float z = p[kB2 + j];
    for (int i = 0; i < kH1; ++i) z += p[kW2 + j * kH1 + i] * act.a1[i];
    act.a2[j] = sigmoid_approx(z);
  }
  float out = p[kB3];
  for (int j = 0; j < kH2; ++j) out += p[kW3 + j] * act.a2[j];
  act.out = out;
}
} // namespace

extern "C" int mlp_param_count() { return kParams; }

extern "C" void mlp_forward(const float* params, const float* x, float* y, int batch) {
  for (int s = 0; s < batch; ++s) {
    Activations act;
    forward(params, x[s], act);
    y[s] = act.out;
  }
}

// One Adam step on the mean squared error over the batch; returns the loss before the step.
extern "C" float mlp_step(float* params, float* adam_m, float* adam_v, const float* x,
                          const float* y, int batch, int step, float lr) {
  float grad[kParams];
  for (int k = 0; k < kParams; ++k) grad[k] = 0.0f;
  float loss = 0.0f;
  const float inv_batch = 1.0f / static_cast<float>(batch);
  for (int s = 0; s < batch; ++s) {
    Activations act;
    forward(params, x[s], act);
    float diff = act.out - y[s];
    loss += diff * diff;
    // d(mean diff^2)/d out = 2 diff / batch
    float g_out = 2.0f * diff * inv_batch;
    grad[kB3] += g_out;
    float g_z2[kH2];
    for (int j = 0; j < kH2; ++j) {
      grad[kW3 + j] += g_out * act.a2[j];
      // sigmoid' = s (1 - s)
      g_z2[j] = g_out * params[kW3 + j] * act.a2[j] * (1.0f - act.a2[j]);
      grad[kB2 + j] += g_z2[j];
    }
    float g_a1[kH1];
    for (int i = 0; i < kH1; ++i) g_a1[i] = 0.0f;
    for (int j = 0; j < kH2; ++j)
      for (int i = 0; i < kH1; ++i) {
        grad[kW2 + j * kH1 + i] += g_z2[j] * act.a1[i];
        g_a1[i] += params[kW2 + j * kH1 + i] * g_z2[j];
      }
    for (int i = 0; i < kH1; ++i) {
      // tanh' = 1 - tanh^2
      float g_z1 = g_a1[i] * (1.0f - act.a1[i] * act.a1[i]);
      grad[kB1 + i] += g_z1;
      grad[kW1 + i] += g_z1 * x[s];
    }
  }
  // Adam (Kingma and Ba): bias corrections divide by 1 - beta^t.
  const float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;
  const float c1 = 1.0f / (1.0f - __builtin_powf(beta1, static_cast<float>(step)));
  const float c2 = 1.0f / (1.0f - __builtin_powf(beta2, static_cast<float>(step)));
  for (int k = 0; k < kParams; ++k) {
    float g = grad[k];
    adam_m[k] = beta1 * adam_m[k] + (1.0f - beta1) * g;
    adam_v[k] = beta2 * adam_v[k] + (1.0f - beta2) * g * g;
    params[k] -= lr * (adam_m[k] * c1) / (__builtin_sqrtf(adam_v[k] * c2) + eps);
  }
  return loss * inv_batch;
}
)";

using StepFn = float(float*, float*, float*, const float*, const float*, int, int, float);
using CountFn = int();

CpuCompileOptions mlp_options() {
  CpuCompileOptions o;
  o.name = "mlp_1_14_10_1";
  return o;
}

fs::path scratch_dir(const std::string& what) {
  static std::atomic<int> counter{0};
  return fs::temp_directory_path() / ("kiln-jit-bench-" + std::to_string(::getpid()) + "-" + what +
                                      "-" + std::to_string(counter++));
}

// Trains y = sin(x) on [-3, 3] and prints the loss: a kernel that is wrong would not learn.
void check_kernel_learns() {
  auto m = CpuJit::instance().compile(kMlpSource, mlp_options(), nullptr);
  std::printf("first compile in this process: %.1f ms (includes LLVM set-up)\n", m->compile_ms());
  const int n = m->function<CountFn>("mlp_param_count")();
  std::vector<float> params(n), adam_m(n, 0.f), adam_v(n, 0.f);
  for (int k = 0; k < n; ++k)
    params[k] = 0.5f * std::sin(1.7f * k + 0.3f);
  const int batch = 32;
  std::vector<float> x(batch), y(batch);
  auto step = m->function<StepFn>("mlp_step");
  float first = 0, last = 0;
  for (int it = 1; it <= 3000; ++it) {
    for (int s = 0; s < batch; ++s) {
      x[s] = -3.f + 6.f * static_cast<float>((it * 37 + s * 101) % 997) / 996.f;
      y[s] = std::sin(x[s]);
    }
    float loss =
        step(params.data(), adam_m.data(), adam_v.data(), x.data(), y.data(), batch, it, 0.01f);
    if (it == 1)
      first = loss;
    last = loss;
  }
  std::printf("sanity: MSE on sin(x) went from %.4f to %.5f in 3000 Adam steps\n", first, last);
}

void BM_ColdCompile(benchmark::State& state) {
  for (auto _ : state) {
    state.PauseTiming();
    const fs::path dir = scratch_dir("cold");
    state.ResumeTiming();
    {
      KernelCache cache(dir);
      auto m = CpuJit::instance().compile(kMlpSource, mlp_options(), &cache);
      benchmark::DoNotOptimize(m->symbol("mlp_step"));
    }
    state.PauseTiming();
    fs::remove_all(dir);
    state.ResumeTiming();
  }
}
BENCHMARK(BM_ColdCompile)->Unit(benchmark::kMillisecond)->Iterations(30);

void BM_WarmLoad(benchmark::State& state) {
  const fs::path dir = scratch_dir("warm");
  KernelCache cache(dir);
  CpuJit::instance().compile(kMlpSource, mlp_options(), &cache);
  for (auto _ : state) {
    auto m = CpuJit::instance().compile(kMlpSource, mlp_options(), &cache);
    if (!m->from_cache())
      state.SkipWithError("expected a cache hit");
    benchmark::DoNotOptimize(m->symbol("mlp_step"));
  }
  fs::remove_all(dir);
}
BENCHMARK(BM_WarmLoad)->Unit(benchmark::kMicrosecond);

// The kernel's own speed, for scale: one training step on a batch of 32 samples of sin(x).
void BM_MlpStepBatch32(benchmark::State& state) {
  auto m = CpuJit::instance().compile(kMlpSource, mlp_options(), nullptr);
  const int n = m->function<CountFn>("mlp_param_count")();
  std::vector<float> params(n), adam_m(n, 0.f), adam_v(n, 0.f), x(32), y(32);
  for (int k = 0; k < n; ++k)
    params[k] = 0.5f * std::sin(1.7f * k + 0.3f);
  for (int s = 0; s < 32; ++s) {
    x[s] = -3.f + 6.f * static_cast<float>(s) / 31.f;
    y[s] = std::sin(x[s]);
  }
  auto step = m->function<StepFn>("mlp_step");
  int it = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(
        step(params.data(), adam_m.data(), adam_v.data(), x.data(), y.data(), 32, ++it, 1e-3f));
}
BENCHMARK(BM_MlpStepBatch32)->Unit(benchmark::kMicrosecond);

} // namespace

int main(int argc, char** argv) {
  check_kernel_learns();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
