#include "processes.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cli.hpp"

#ifdef EBM_MPI
#include <mpi.h>
#endif

namespace cli {

namespace {

// The process count a launcher announces in the environment (Open MPI, PMIx, MPICH/Slurm), 1 without one.
int launcher_size() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"})
    if (const char* v = std::getenv(var)) return std::max(1, std::atoi(v));
  return 1;
}

#ifdef EBM_MPI
void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

class MpiProcesses final : public ebm::ShardComm {
 public:
  MpiProcesses() {
    check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::vector<uint8_t>> all_gather(const std::vector<uint8_t>& mine) const override {
    if (mine.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
      throw std::runtime_error("MPI: a message of " + std::to_string(mine.size()) + " bytes, more than one all-gather carries");
    int n = static_cast<int>(mine.size());
    std::vector<int> counts(static_cast<size_t>(size_)), offsets(static_cast<size_t>(size_));
    MPI_Request sizes;
    check(MPI_Iallgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD, &sizes), "MPI_Iallgather");
    wait(sizes);
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[static_cast<size_t>(r)] = static_cast<int>(total);
      total += counts[static_cast<size_t>(r)];
    }
    if (total > std::numeric_limits<int>::max()) throw std::runtime_error("MPI: an all-gather of more than 2 GiB");
    std::vector<uint8_t> all(static_cast<size_t>(total));
    MPI_Request data;
    check(MPI_Iallgatherv(mine.data(), n, MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD, &data),
          "MPI_Iallgatherv");
    wait(data);
    std::vector<std::vector<uint8_t>> out;
    for (int r = 0; r < size_; ++r) {
      const auto* p = all.data() + offsets[static_cast<size_t>(r)];
      out.emplace_back(p, p + counts[static_cast<size_t>(r)]);
    }
    return out;
  }

 private:
  // Waits for a request without holding a core: blocking collectives poll in a busy loop, and a process that
  // waits for a slower one (more processes than cores, or a shard that takes longer) would take the core the
  // slower one needs. Polls at once for a short while, then sleeps between polls, up to 200 µs.
  static void wait(MPI_Request& request) {
    int done = 0;
    for (int spin = 0; spin < 200 && !done; ++spin) check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    for (auto pause = std::chrono::microseconds(5); !done; pause = std::min(pause * 2, std::chrono::microseconds(200))) {
      std::this_thread::sleep_for(pause);
      check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    }
  }

  int rank_ = 0, size_ = 1;
};

// MPI_Finalize when the program ends normally (a failure ends the job with MPI_Abort instead).
struct Finalize {
  ~Finalize() {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
};
#endif

}  // namespace

std::shared_ptr<const ebm::ShardComm> join_processes(int* argc, char*** argv) {
#ifdef EBM_MPI
  if (launcher_size() > 1) {
    int provided = 0;
    // Only the main thread calls MPI; the kernels' worker threads never do.
    check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    static Finalize finalize;  // the one piece of global state: MPI itself is per process
    return std::make_shared<MpiProcesses>();
  }
#else
  (void)argc, (void)argv;
  if (const int n = launcher_size(); n > 1)
    throw UsageError("started as one of " + std::to_string(n) + " processes (mpirun), but this ebm was built without MPI: " +
                     "build it with cmake -DEBM_MPI=ON (packages libopenmpi-dev and openmpi-bin), or run one process");
#endif
  return std::make_shared<ebm::SingleProcess>();
}

void abort_processes(int code) {
#ifdef EBM_MPI
  int initialised = 0, finalised = 0, size = 1;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (initialised && !finalised) {
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
  }
#else
  (void)code;
#endif
}

}  // namespace cli
