#pragma once
// The processes of a data-parallel run, as the training loop sees them: a rank, a size, and the
// collectives it needs (a sum of gradients, a broadcast of weights, an exchange of sizes). An
// engine that clusters already run implements it: MPI (runtime/mpi/) for CPU processes. No
// other file includes MPI.
//
//   auto comm = kiln::mpi_world();            // MPI_Init on first use
//   kiln::History h = trainer.fit(train, &val, {.epochs = 20, .comm = comm});

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/**
 * A group of ranks running the same program. Every collective must be called by every rank in
 * the same order; every rank gets the same result. Errors (a rank that died, a failed call)
 * throw kiln::Error on the ranks that see them, or end the job (MPI's default).
 */
class Communicator {
public:
  virtual ~Communicator() = default;

  /** This process's rank in [0, size()). */
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /** "mpi", or a test's fake. */
  virtual std::string name() const = 0;

  /** Sums data[0..n) over the ranks, in place. */
  virtual void allreduce_sum(float* data, size_t n) = 0;
  virtual void allreduce_sum(double* data, size_t n) = 0;
  /** A nonblocking sum in flight (iallreduce_sum), until test() or wait() says it is done. */
  using Request = int64_t;
  /**
   * Starts summing data[0..n) over the ranks in place, each element as allreduce_sum sums it
   * (two ranks: bit for bit); `data` must not be touched until the request is done. Every rank
   * must start the same requests in the same order. The default sums at once (blocking).
   */
  virtual Request iallreduce_sum(float* data, size_t n);
  /** True when `r` is done; lets it progress (MPI moves data only inside its calls). */
  virtual bool test(Request r);
  /** Returns when `r` is done. */
  virtual void wait(Request r);
  /** Copies `bytes` bytes at `data` from rank `root` to every other rank. */
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  /** Every rank's `value`, in rank order. */
  virtual std::vector<uint64_t> allgather(uint64_t value) = 0;
  /** Ends every rank of the job with `code` (a rank that cannot go on must not leave the others
      waiting in a collective). Does not return. */
  [[noreturn]] virtual void abort(int code) = 0;
};

/**
 * Throws kiln::DataError on every rank when the ranks' `value`s differ:
 * "[<api>] the ranks disagree on <what>: rank 0 has <v0>, rank 1 has <v1>; <fix>". A
 * collective: every rank calls it with the same `what`.
 */
void check_ranks_agree(Communicator& comm, uint64_t value, const std::string& api,
                       const std::string& what, const std::string& fix);

/**
 * Where one rank may fail alone (its own data, its own file), the ranks compare notes before
 * the next collective: every rank passes "" or its error, and when any rank has one, every rank
 * throws kiln::Error "[<api>] rank <r>: <its error>" (the lowest such rank's). A collective.
 */
void throw_if_any_rank_failed(Communicator& comm, const std::string& api, const std::string& error);

/** True when kiln was built with MPI (KILN_ENABLE_MPI and CMake found it). */
bool mpi_available();
/**
 * MPI_COMM_WORLD. The first call initializes MPI (MPI_Finalize runs at exit); throws
 * kiln::Error where kiln was built without MPI. Started by `mpirun -np 4 prog` every process
 * gets its rank; started alone, the world is one rank.
 */
std::shared_ptr<Communicator> mpi_world();

} // namespace kiln
