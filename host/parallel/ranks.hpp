#pragma once
// The ranks of one `cordsim run` (docs/parallel.md). In a build with CORDSIM_WITH_MPI, a process
// started by an MPI launcher (mpirun, mpiexec, srun) initialises MPI for its lifetime; with more
// than one rank, `cordsim run` splits the grid into slabs (host/parallel/decomposition.hpp) and
// run_ranks() is the group it runs in. A build without MPI, or one rank, runs as before.
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "kernels/backend.hpp"

namespace cordsim {

class RankGroup {
 public:
  virtual ~RankGroup() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  bool root() const { return rank() == 0; }
  // e.g. "MPI (Open MPI v4.1.4), 4 ranks, halo exchange through host memory".
  virtual std::string description() const = 0;

  // The halo exchange between slab neighbours (rank ± 1) and the global reductions.
  virtual HaloExchange& exchange() = 0;

  // Rank 0 receives every rank's `count` values, concatenated in rank order, into `gathered`
  // (other ranks may pass null). `counts[r]` is rank r's count. float for output frames; double
  // for the checkpoints of a float64 (CORDSIM_DOUBLE) build.
  virtual void gather(const float* local, std::size_t count, float* gathered, const std::vector<std::size_t>& counts) = 0;
  virtual void gather(const double* local, std::size_t count, double* gathered,
                      const std::vector<std::size_t>& counts) = 0;
  // A running sum in rank order, for sums that must add their terms in the serial (global voxel)
  // order (the ALS model's readouts, docs/parallel.md): rank r receives the accumulators after
  // ranks 0 … r − 1 (rank 0 keeps `acc` as given), `add` adds its own terms to them, and every rank
  // gets the accumulators after the last rank. The additions are the serial ones, term for term.
  virtual void running_sum(std::vector<double>& acc, const std::function<void(std::vector<double>&)>& add) = 0;
  // True on every rank when `ok` is true on every rank.
  virtual bool all(bool ok) = 0;
  // The largest of the ranks' values, on every rank (the smallest: −largest(−value)).
  virtual long long largest(long long value) = 0;
  // Rank 0's `text`, on every rank.
  virtual void broadcast(std::string& text) = 0;
  // The ranks' MPI communicator as MPI_Comm_c2f gives it (for parallel HDF5, RunOutput).
  virtual int communicator() const = 0;
  // Ends every rank of the run with `code` (after an error on some ranks).
  [[noreturn]] virtual void abort(int code) = 0;

  // Messages and bytes the halo exchange has sent from this rank so far.
  virtual long long halo_messages() const = 0;
  virtual long long halo_bytes() const = 0;
};

// Owns MPI for the process's lifetime when the build has MPI and a launcher started the process
// (else does nothing). Construct it first thing in main.
class ParallelSession {
 public:
  ParallelSession(int* argc, char*** argv);
  ~ParallelSession();
  ParallelSession(const ParallelSession&) = delete;
  ParallelSession& operator=(const ParallelSession&) = delete;
};

// The ranks of this run when there is more than one, else null.
RankGroup* run_ranks();

// Whether this cordsim was built with MPI (CORDSIM_WITH_MPI), and the launcher-reported size.
bool mpi_built();

}  // namespace cordsim
