#include "codegen/cpu/parallel.h"

namespace kiln::codegen {

namespace {

/** The kernel's side of runtime::KilnPoolApi and kiln_parallel; SYMBOL and FLOPS replaced. */
constexpr const char* kParallel = R"KILN(struct kiln_pool_api {
  void (*run)(void*, long long, void (*)(void*, long long, long long, int), void*);
  void* pool;
  int (*worker)();
};
extern "C" const kiln_pool_api* SYMBOL;
template <class F>
static inline void kiln_parallel(long long n, double flops, const F& f) {
  const kiln_pool_api* p = SYMBOL;
  if (!p || n < 2 || flops < FLOPS) {
    f(0, n, p ? p->worker() : 0);
  } else {
    F g = f; // only this copy's address escapes: f's values stay in registers on one thread
    p->run(p->pool, n, [](void* a, long long lo, long long hi, int w) { (*(F*)a)(lo, hi, w); }, &g);
  }
}
)KILN";

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

} // namespace

bool uses_parallel(const std::string& source) {
  return source.find("kiln_parallel(") != std::string::npos;
}

std::string parallel_source(const std::string& symbol) {
  std::string s = kParallel;
  replace_all(s, "SYMBOL", symbol);
  replace_all(s, "FLOPS", std::to_string(static_cast<long long>(kCpuParallelFlops)) + ".0");
  return s;
}

std::string parallel_definition(const std::string& symbol) {
  return "extern \"C\" const kiln_pool_api* " + symbol + " = 0;\n";
}

} // namespace kiln::codegen
