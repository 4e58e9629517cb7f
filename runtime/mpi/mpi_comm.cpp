// The Communicator on MPI_COMM_WORLD: the only file that includes mpi.h.

// The C API only: Open MPI's and MPICH's deprecated C++ bindings need a library kiln does not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include "base/error.h"
#include "runtime/comm.h"

namespace kiln {

namespace {

/** Throws kiln::Error naming the call and MPI's own words for `code`. */
void check(int code, const char* call) {
  if (code == MPI_SUCCESS)
    return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw Error(str("[mpi] ", call, " failed: ", std::string(text, static_cast<size_t>(len))));
}

/** Finalizes MPI at exit, if kiln initialized it and nobody finalized it since. */
struct Finalizer {
  ~Finalizer() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
      MPI_Finalize();
  }
};

class MpiComm final : public Communicator {
public:
  MpiComm() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string name() const override { return "mpi"; }

  void allreduce_sum(float* data, size_t n) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, count(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  void allreduce_sum(double* data, size_t n) override {
    check(MPI_Allreduce(MPI_IN_PLACE, data, count(n), MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
  }
  Request iallreduce_sum(float* data, size_t n) override {
    // Finished requests are MPI_REQUEST_NULL: once all are, their ids (below first_) are done.
    if (std::all_of(requests_.begin(), requests_.end(),
                    [](MPI_Request r) { return r == MPI_REQUEST_NULL; })) {
      first_ += static_cast<Request>(requests_.size());
      requests_.clear();
    }
    MPI_Request r = MPI_REQUEST_NULL;
    check(MPI_Iallreduce(MPI_IN_PLACE, data, count(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &r),
          "MPI_Iallreduce");
    requests_.push_back(r);
    return first_ + static_cast<Request>(requests_.size()) - 1;
  }
  bool test(Request r) override {
    int done = 1;
    if (r >= first_)
      check(MPI_Test(&request(r), &done, MPI_STATUS_IGNORE), "MPI_Test");
    return done != 0;
  }
  void wait(Request r) override {
    if (r >= first_)
      check(MPI_Wait(&request(r), MPI_STATUS_IGNORE), "MPI_Wait");
  }
  void broadcast(void* data, size_t bytes, int root) override {
    check(MPI_Bcast(data, count(bytes), MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
  std::vector<uint64_t> allgather(uint64_t value) override {
    std::vector<uint64_t> all(static_cast<size_t>(size_));
    check(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD),
          "MPI_Allgather");
    return all;
  }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code); // MPI_Abort does not return; this keeps [[noreturn]] honest
  }

private:
  static int count(size_t n) {
    if (n > static_cast<size_t>(INT32_MAX))
      throw Error(str("[mpi] ", n, " elements in one call; MPI counts are ints"));
    return static_cast<int>(n);
  }
  MPI_Request& request(Request r) {
    const Request i = r - first_;
    if (i < 0 || static_cast<size_t>(i) >= requests_.size())
      throw Error(
          str("[mpi] request ", r, " was not started (", first_ + requests_.size(), " were)"));
    return requests_[static_cast<size_t>(i)];
  }
  int rank_ = 0, size_ = 1;
  /** Nonblocking sums, request first_ first; MPI_Test and MPI_Wait set a finished one to null. */
  std::vector<MPI_Request> requests_;
  Request first_ = 0;
};

} // namespace

bool mpi_available() {
  return true;
}

std::shared_ptr<Communicator> mpi_world() {
  static std::mutex mu;
  static std::shared_ptr<Communicator> world;
  std::lock_guard lock(mu);
  if (world)
    return world;
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (!initialized) {
    int provided = 0;
    // Only the thread that calls fit() talks to MPI; kiln's compile threads never do.
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    static Finalizer finalizer;
  }
  // Errors come back as codes (thrown as kiln::Error) instead of aborting inside MPI.
  check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  world = std::make_shared<MpiComm>();
  return world;
}

} // namespace kiln
