// A kiln-free program that the aot tests compile with a plain compiler, against the emitted
// files only (reg.h/.cpp: regression, weights passed in; cls.h/.cpp: classification;
// regb.h/.cpp: the regression network with baked weights). It reads a problem from a file, runs
// the emitted entry points and writes what they return.
//
//   driver <model> run <in> <out>   in: int64 n, int64 steps, float lr, int32 baked, x, target or
//                                   labels, params (unless baked); out: y, losses, params, state
//   driver <model> status           prints the status codes of misuses, one per line

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "cls.h"
#include "reg.h"
#include "regb.h"

namespace {

using StepF = int (*)(long long, const float*, const float*, float, float* const*, float* const*,
                      float*, void*);
using StepL = int (*)(long long, const float*, const int32_t*, float, float* const*, float* const*,
                      float*, void*);

struct Model {
  const char* name;
  long long in, out, num_params, num_state;
  const kiln_aot_tensor* params;
  const kiln_aot_tensor* state;
  size_t (*workspace_bytes)(long long);
  int (*forward)(long long, const float*, float*, const float* const*, void*);
  int (*init_params)(float* const*);
  StepF step_target;
  StepL step_labels;
  void (*init_state)(float* const*);
};

const Model kModels[] = {
    {"reg", REG_IN_FEATURES, REG_OUT_FEATURES, REG_NUM_PARAMS, REG_NUM_STATE, reg_params, reg_state,
     reg_workspace_bytes, reg_forward, reg_init_params, reg_train_step, nullptr,
     reg_init_optimizer_state},
    {"regb", REGB_IN_FEATURES, REGB_OUT_FEATURES, REGB_NUM_PARAMS, REGB_NUM_STATE, regb_params,
     regb_state, regb_workspace_bytes, regb_forward, regb_init_params, regb_train_step, nullptr,
     regb_init_optimizer_state},
    {"cls", CLS_IN_FEATURES, CLS_OUT_FEATURES, CLS_NUM_PARAMS, CLS_NUM_STATE, cls_params, cls_state,
     cls_workspace_bytes, cls_forward, cls_init_params, nullptr, cls_train_step,
     cls_init_optimizer_state},
};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "driver: %s\n", what);
  std::exit(2);
}

template <class T>
void read(std::FILE* f, T* data, size_t count) {
  if (std::fread(data, sizeof(T), count, f) != count)
    fail("short input file");
}
template <class T>
void write(std::FILE* f, const T* data, size_t count) {
  if (std::fwrite(data, sizeof(T), count, f) != count)
    fail("cannot write the output file");
}

/** Buffers for every tensor of a table, and the pointer array the ABI takes. */
struct Buffers {
  std::vector<std::vector<float>> data;
  std::vector<float*> ptrs;
  Buffers(const kiln_aot_tensor* table, long long count) {
    for (long long i = 0; i < count; ++i)
      data.emplace_back(static_cast<size_t>(table[i].size));
    for (auto& d : data)
      ptrs.push_back(d.data());
  }
};

int run(const Model& m, const char* in_path, const char* out_path) {
  std::FILE* in = std::fopen(in_path, "rb");
  if (!in)
    fail("cannot open the input file");
  int64_t n = 0, steps = 0;
  float lr = 0;
  int32_t baked = 0;
  read(in, &n, 1);
  read(in, &steps, 1);
  read(in, &lr, 1);
  read(in, &baked, 1);
  std::vector<float> x(static_cast<size_t>(n * m.in)), target(static_cast<size_t>(n * m.out));
  std::vector<int32_t> labels(static_cast<size_t>(n));
  read(in, x.data(), x.size());
  if (m.step_labels)
    read(in, labels.data(), labels.size());
  else
    read(in, target.data(), target.size());
  Buffers params(m.params, m.num_params), state(m.state, m.num_state);
  if (!baked)
    for (auto& p : params.data)
      read(in, p.data(), p.size());
  std::fclose(in);

  void* workspace = std::aligned_alloc(64, m.workspace_bytes(n));
  std::vector<float> y(static_cast<size_t>(n * m.out));
  if (m.forward(n, x.data(), y.data(), baked ? nullptr : params.ptrs.data(), workspace) !=
      KILN_AOT_OK)
    fail("forward failed");
  if (baked && m.init_params(params.ptrs.data()) != KILN_AOT_OK)
    fail("init_params failed");
  m.init_state(state.ptrs.data());
  std::vector<float> losses(static_cast<size_t>(steps));
  for (int64_t s = 0; s < steps; ++s) {
    const int status = m.step_labels
                           ? m.step_labels(n, x.data(), labels.data(), lr, params.ptrs.data(),
                                           state.ptrs.data(), &losses[s], workspace)
                           : m.step_target(n, x.data(), target.data(), lr, params.ptrs.data(),
                                           state.ptrs.data(), &losses[s], workspace);
    if (status != KILN_AOT_OK)
      fail("train_step failed");
  }
  std::free(workspace);

  std::FILE* out = std::fopen(out_path, "wb");
  if (!out)
    fail("cannot open the output file");
  write(out, y.data(), y.size());
  write(out, losses.data(), losses.size());
  for (auto& p : params.data)
    write(out, p.data(), p.size());
  for (auto& s : state.data)
    write(out, s.data(), s.size());
  std::fclose(out);
  return 0;
}

/** One line per misuse: its name and the status the entry point returned. */
int statuses(const Model& m) {
  const long long n = 4;
  char* block = static_cast<char*>(std::aligned_alloc(64, m.workspace_bytes(n) + 64));
  void* ws = block;
  void* misaligned = block + 8;
  std::vector<float> x(static_cast<size_t>(n * m.in), 0.5f), y(static_cast<size_t>(n * m.out)),
      t(y.size());
  std::vector<int32_t> labels(static_cast<size_t>(n), 0);
  Buffers params(m.params, m.num_params), state(m.state, m.num_state);
  float loss = 0;
  auto step = [&](long long batch, void* w, float* const* p) {
    return m.step_labels
               ? m.step_labels(batch, x.data(), labels.data(), 0.1f, p, state.ptrs.data(), &loss, w)
               : m.step_target(batch, x.data(), t.data(), 0.1f, p, state.ptrs.data(), &loss, w);
  };
  std::printf("workspace_bytes(-1) %zu\n", m.workspace_bytes(-1));
  std::printf("forward_null_params %d\n", m.forward(n, x.data(), y.data(), nullptr, ws));
  std::printf("forward_misaligned %d\n",
              m.forward(n, x.data(), y.data(), params.ptrs.data(), misaligned));
  std::printf("forward_negative_n %d\n", m.forward(-1, x.data(), y.data(), params.ptrs.data(), ws));
  std::printf("forward_null_x %d\n", m.forward(n, nullptr, y.data(), params.ptrs.data(), ws));
  std::printf("init_params %d\n", m.init_params(params.ptrs.data()));
  m.init_state(state.ptrs.data());
  std::printf("step_zero_n %d\n", step(0, ws, params.ptrs.data()));
  std::printf("step_misaligned %d\n", step(n, misaligned, params.ptrs.data()));
  std::printf("step_null_params %d\n", step(n, ws, nullptr));
  if (m.step_labels) {
    labels[2] = static_cast<int32_t>(m.out);
    std::printf("step_label_too_large %d\n", step(n, ws, params.ptrs.data()));
    labels[2] = -1;
    std::printf("step_negative_label %d\n", step(n, ws, params.ptrs.data()));
  }
  std::free(block);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 3)
    fail("usage: driver <model> run <in> <out> | driver <model> status");
  for (const Model& m : kModels) {
    if (std::strcmp(m.name, argv[1]) != 0)
      continue;
    if (std::strcmp(argv[2], "run") == 0 && argc == 5)
      return run(m, argv[3], argv[4]);
    if (std::strcmp(argv[2], "status") == 0)
      return statuses(m);
    fail("bad command");
  }
  fail("unknown model");
}
