#include "host/parallel/ranks.hpp"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#if defined(CORDSIM_HAVE_MPI)
#include <fmt/format.h>
#include <mpi.h>
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>  // Open MPI: MPIX_CUDA_AWARE_SUPPORT, MPIX_Query_cuda_support
#endif
#endif

namespace cordsim {

#if defined(CORDSIM_HAVE_MPI)
namespace {

void check(int status, const char* what) {
  if (status != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

// CUDA-aware MPI: Open MPI says so at compile and at run time; CORDSIM_MPI_CUDA_AWARE=0/1 overrides
// (for other MPI libraries, which have no query).
bool cuda_aware_mpi() {
  if (const char* forced = std::getenv("CORDSIM_MPI_CUDA_AWARE")) return std::string(forced) == "1";
#if defined(MPIX_CUDA_AWARE_SUPPORT) && MPIX_CUDA_AWARE_SUPPORT
  return MPIX_Query_cuda_support() == 1;
#else
  return false;
#endif
}

class MpiRanks final : public RankGroup, public HaloExchange {
 public:
  MpiRanks() {
    check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "MPI_Comm_dup");
    MPI_Comm_rank(comm_, &rank_);
    MPI_Comm_size(comm_, &size_);
    cuda_aware_ = cuda_aware_mpi();
  }
  ~MpiRanks() override { MPI_Comm_free(&comm_); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string description() const override {
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int length = 0;
    MPI_Get_library_version(version, &length);
    std::string library(version, std::size_t(length));
    library = library.substr(0, library.find_first_of(",\n"));
    return fmt::format("MPI ({}), {} ranks, halo exchange {}", library, size_,
                       cuda_aware_ ? "CUDA-aware (device buffers passed directly)" : "through host memory for device buffers");
  }
  HaloExchange& exchange() override { return *this; }

  // HaloExchange
  bool lower() const override { return rank_ > 0; }
  bool upper() const override { return rank_ + 1 < size_; }
  bool accepts_device_memory() const override { return cuda_aware_; }
  void start(const void* send_lower, const void* send_upper, void* recv_lower, void* recv_upper,
             std::size_t bytes) override {
    // Tag 0: a plane travelling up (to rank + 1); tag 1: travelling down.
    const int n = int(bytes);
    pending_ = 0;
    if (lower()) {
      check(MPI_Irecv(recv_lower, n, MPI_BYTE, rank_ - 1, 0, comm_, &requests_[pending_++]), "MPI_Irecv");
      check(MPI_Isend(send_lower, n, MPI_BYTE, rank_ - 1, 1, comm_, &requests_[pending_++]), "MPI_Isend");
      ++messages_;
      bytes_ += (long long)bytes;
    }
    if (upper()) {
      check(MPI_Irecv(recv_upper, n, MPI_BYTE, rank_ + 1, 1, comm_, &requests_[pending_++]), "MPI_Irecv");
      check(MPI_Isend(send_upper, n, MPI_BYTE, rank_ + 1, 0, comm_, &requests_[pending_++]), "MPI_Isend");
      ++messages_;
      bytes_ += (long long)bytes;
    }
  }
  void finish() override { check(MPI_Waitall(pending_, requests_, MPI_STATUSES_IGNORE), "MPI_Waitall"); pending_ = 0; }

  // Every rank gets all partial values and adds them in rank order: the same result everywhere,
  // whatever reduction tree the MPI library would use.
  double sum(double local) override {
    partials_.resize(std::size_t(size_));
    check(MPI_Allgather(&local, 1, MPI_DOUBLE, partials_.data(), 1, MPI_DOUBLE, comm_), "MPI_Allgather");
    double total = 0.0;
    for (double p : partials_) total += p;
    return total;
  }
  double max(double local) override {
    double global = 0.0;
    check(MPI_Allreduce(&local, &global, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
    return global;
  }
  double ordered_sum(const std::vector<double>& terms) override {
    const int n = int(terms.size());
    const std::size_t ranks = std::size_t(size_);
    std::vector<int> counts(ranks), offsets(ranks, 0);
    check(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    for (int r = 1; r < size_; ++r) offsets[std::size_t(r)] = offsets[std::size_t(r) - 1] + counts[std::size_t(r) - 1];
    std::vector<double> all(std::size_t(offsets.back() + counts.back()));
    check(MPI_Allgatherv(terms.data(), n, MPI_DOUBLE, all.data(), counts.data(), offsets.data(), MPI_DOUBLE, comm_),
          "MPI_Allgatherv");
    double total = 0.0;
    for (double t : all) total += t;
    return total;
  }

  void allgather(void* data, const std::vector<std::size_t>& bytes) override {
    const std::size_t ranks = std::size_t(size_);
    std::vector<int> counts(ranks), offsets(ranks, 0);
    for (std::size_t r = 0; r < ranks; ++r) counts[r] = int(bytes.at(r));
    for (std::size_t r = 1; r < ranks; ++r) offsets[r] = offsets[r - 1] + counts[r - 1];
    check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), offsets.data(), MPI_BYTE, comm_),
          "MPI_Allgatherv");
    // Counted with the halo traffic: this rank's block to each other rank.
    messages_ += size_ - 1;
    bytes_ += (long long)bytes[std::size_t(rank_)] * (size_ - 1);
  }

  void gather(const float* local, std::size_t count, float* gathered, const std::vector<std::size_t>& counts) override {
    gather_to_root(local, count, gathered, counts, MPI_FLOAT);
  }
  void gather(const double* local, std::size_t count, double* gathered,
              const std::vector<std::size_t>& counts) override {
    gather_to_root(local, count, gathered, counts, MPI_DOUBLE);
  }
  void gather_to_root(const void* local, std::size_t count, void* gathered, const std::vector<std::size_t>& counts,
                      MPI_Datatype type) {
    const std::size_t ranks = std::size_t(size_);
    std::vector<int> c(ranks), offsets(ranks, 0);
    for (int r = 0; r < size_; ++r) c[std::size_t(r)] = int(counts[std::size_t(r)]);
    for (int r = 1; r < size_; ++r) offsets[std::size_t(r)] = offsets[std::size_t(r) - 1] + c[std::size_t(r) - 1];
    check(MPI_Gatherv(local, int(count), type, gathered, c.data(), offsets.data(), type, 0, comm_), "MPI_Gatherv");
  }
  void running_sum(std::vector<double>& acc, const std::function<void(std::vector<double>&)>& add) override {
    constexpr int tag = 2;  // the halo exchange uses tags 0 and 1, and is never in flight here
    const int n = int(acc.size());
    if (rank_ > 0) check(MPI_Recv(acc.data(), n, MPI_DOUBLE, rank_ - 1, tag, comm_, MPI_STATUS_IGNORE), "MPI_Recv");
    add(acc);
    if (rank_ + 1 < size_) check(MPI_Send(acc.data(), n, MPI_DOUBLE, rank_ + 1, tag, comm_), "MPI_Send");
    check(MPI_Bcast(acc.data(), n, MPI_DOUBLE, size_ - 1, comm_), "MPI_Bcast");
  }
  bool all(bool ok) override {
    int mine = ok ? 1 : 0, every = 0;
    check(MPI_Allreduce(&mine, &every, 1, MPI_INT, MPI_MIN, comm_), "MPI_Allreduce");
    return every == 1;
  }
  long long largest(long long value) override {
    long long global = 0;
    check(MPI_Allreduce(&value, &global, 1, MPI_LONG_LONG, MPI_MAX, comm_), "MPI_Allreduce");
    return global;
  }
  void broadcast(std::string& text) override {
    unsigned long long length = text.size();
    check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, 0, comm_), "MPI_Bcast");
    text.resize(std::size_t(length));
    if (length > 0) check(MPI_Bcast(text.data(), int(length), MPI_CHAR, 0, comm_), "MPI_Bcast");
  }
  int communicator() const override { return int(MPI_Comm_c2f(comm_)); }
  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
  }
  long long halo_messages() const override { return messages_; }
  long long halo_bytes() const override { return bytes_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
  bool cuda_aware_ = false;
  MPI_Request requests_[4];
  int pending_ = 0;
  long long messages_ = 0, bytes_ = 0;
  std::vector<double> partials_;
};

bool mpi_started_here = false;
std::unique_ptr<MpiRanks> ranks;

// Launchers set these in every process they start (Open MPI, PMI/MPICH/Hydra, PMIx/Slurm).
bool started_by_launcher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS"})
    if (std::getenv(v)) return true;
  return false;
}

}  // namespace

ParallelSession::ParallelSession(int* argc, char*** argv) {
  if (!started_by_launcher()) return;
  int provided = 0;
  MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
  mpi_started_here = true;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) ranks = std::make_unique<MpiRanks>();
}

ParallelSession::~ParallelSession() {
  ranks.reset();
  if (mpi_started_here) MPI_Finalize();
}

RankGroup* run_ranks() { return ranks.get(); }
bool mpi_built() { return true; }

#else

ParallelSession::ParallelSession(int*, char***) {}
ParallelSession::~ParallelSession() = default;
RankGroup* run_ranks() { return nullptr; }
bool mpi_built() { return false; }

#endif

}  // namespace cordsim
