// An application that knows nothing of kiln: it links only sine.h and sine.cpp, which
// kiln_add_kernels generated from model.cpp. It runs the baked network on a grid, then trains a
// copy of the weights for a few steps on fresh samples of sin(x) and runs it again.

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sine.h"

namespace {

void check(int status, const char* what) {
  if (status == KILN_AOT_OK)
    return;
  std::fprintf(stderr, "%s: %s\n", what, kiln_aot_status_string(status));
  std::exit(1);
}

/** Mean squared error against sin(x) on a grid of n points in [-3, 3]. */
double grid_mse(const float* const* params, long long n, void* workspace) {
  std::vector<float> x(n), y(n);
  for (long long i = 0; i < n; ++i)
    x[i] = -3.0f + 6.0f * static_cast<float>(i) / static_cast<float>(n - 1);
  check(sine_forward(n, x.data(), y.data(), params, workspace), "sine_forward");
  double sum = 0;
  for (long long i = 0; i < n; ++i)
    sum += (y[i] - std::sin(x[i])) * (y[i] - std::sin(x[i]));
  return sum / static_cast<double>(n);
}

} // namespace

int main() {
  const long long grid = 64, batch = 16;
  void* workspace = std::aligned_alloc(64, sine_workspace_bytes(grid));

  std::printf("sine: %d parameters (%d floats), baked: %s\n", SINE_NUM_PARAMS, SINE_PARAM_FLOATS,
              SINE_BAKED ? "yes" : "no");
  std::printf("%8s %10s %10s\n", "x", "sin(x)", "network");
  for (float x : {-3.0f, -1.5f, 0.0f, 1.5f, 3.0f}) {
    float y = 0;
    check(sine_forward(1, &x, &y, nullptr, workspace), "sine_forward");
    std::printf("%8.2f %10.4f %10.4f\n", x, std::sin(x), y);
  }
  std::printf("grid MSE with the baked weights: %.5f\n", grid_mse(nullptr, grid, workspace));

  // Training needs writable weights and the optimizer's state: the application owns both.
  std::vector<std::vector<float>> params(SINE_NUM_PARAMS), state(SINE_NUM_STATE);
  std::vector<float*> p, s;
  for (int i = 0; i < SINE_NUM_PARAMS; ++i)
    p.push_back((params[i].resize(sine_params[i].size), params[i].data()));
  for (int i = 0; i < SINE_NUM_STATE; ++i)
    s.push_back((state[i].resize(sine_state[i].size), state[i].data()));
  check(sine_init_params(p.data()), "sine_init_params");
  sine_init_optimizer_state(s.data());

  unsigned rng = 12345; // a small LCG keeps the application free of <random>
  std::vector<float> x(batch), t(batch);
  for (int step = 1; step <= 200; ++step) {
    for (long long i = 0; i < batch; ++i) {
      rng = rng * 1664525u + 1013904223u;
      x[i] = -3.0f + 6.0f * static_cast<float>(rng >> 8) / 16777216.0f;
      t[i] = std::sin(x[i]);
    }
    float loss = 0;
    check(sine_train_step(batch, x.data(), t.data(), 1e-3f, p.data(), s.data(), &loss, workspace),
          "sine_train_step");
    if (step % 50 == 0)
      std::printf("step %3d: mini-batch loss %.5f\n", step, loss);
  }
  std::printf("grid MSE after 200 more steps: %.5f\n", grid_mse(p.data(), grid, workspace));
  std::free(workspace);
  return 0;
}
