#include "bench/harness/peer.h"

#include "bench/peers/eigen_mlp.h"
#include "bench/peers/eigen_padded_mlp.h"
#include "bench/peers/kiln_mlp.h"
#include "runtime/cpu/thread_pool.h"
#ifdef KILN_BENCH_HAVE_TORCH
#include "bench/peers/torch_mlp.h"
#endif

namespace kiln::bench {

std::vector<Peer> available_peers() {
  std::vector<Peer> peers;
  // kiln's large products split their rows over the runtime's pool (runtime/cpu/thread_pool.h).
  peers.push_back(make_peer<KilnMlp>(
      "kiln", [](int threads) { runtime::ThreadPool::instance().set_threads(threads); }));
  peers.push_back(make_peer<EigenMlp>("eigen", set_eigen_threads));
  // The fixed-shape, padded hand-written trainer: W1 and W2 only; single-threaded.
  peers.push_back(make_peer<EigenPaddedMlp>(
      "eigen-padded", [](int) {}, false, padded_mlp_supports));
#ifdef KILN_BENCH_HAVE_TORCH
  peers.push_back(make_peer<TorchMlp>("torch", set_torch_threads, /*slow_runs=*/true));
#endif
  return peers;
}

} // namespace kiln::bench
