#include "runtime/comm.h"

#include "base/error.h"

namespace kiln {

Communicator::Request Communicator::iallreduce_sum(float* data, size_t n) {
  allreduce_sum(data, n);
  return 0;
}

bool Communicator::test(Request) {
  return true;
}

void Communicator::wait(Request) {}

void check_ranks_agree(Communicator& comm, uint64_t value, const std::string& api,
                       const std::string& what, const std::string& fix) {
  const std::vector<uint64_t> all = comm.allgather(value);
  for (size_t r = 1; r < all.size(); ++r)
    if (all[r] != all[0])
      throw DataError(str("[", api, "] the ranks disagree on ", what, ": rank 0 has ", all[0],
                          ", rank ", r, " has ", all[r], "; ", fix));
}

void throw_if_any_rank_failed(Communicator& comm, const std::string& api,
                              const std::string& error) {
  const std::vector<uint64_t> failed = comm.allgather(error.empty() ? 0 : 1);
  for (size_t r = 0; r < failed.size(); ++r) {
    if (!failed[r])
      continue;
    const int root = static_cast<int>(r);
    uint64_t len = error.size();
    comm.broadcast(&len, sizeof len, root);
    std::string text(len, '\0');
    if (comm.rank() == root)
      text = error;
    comm.broadcast(text.data(), len, root);
    throw Error(str("[", api, "] rank ", r, ": ", text));
  }
}

} // namespace kiln
