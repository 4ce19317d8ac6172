// The all-gather that carries the shards' parts between processes (Note [Shards across processes]), timed
// between the ranks of `mpirun -np P bench/mpi-allgather`: for each message size, the median over repetitions of
// one MPI_Allgatherv in which every rank contributes that many bytes. docs/scaling.md fits its latency and
// bandwidth from these rows. Built with the CMake option EBM_MPI.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <vector>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (rank == 0) std::printf("# %d ranks\n# bytes_per_rank  median_seconds  received_bytes_per_second\n", size);
  for (long bytes = 8; bytes <= (64L << 20); bytes *= 4) {
    std::vector<char> mine(static_cast<size_t>(bytes), 1), all(static_cast<size_t>(bytes) * static_cast<size_t>(size));
    std::vector<int> counts(static_cast<size_t>(size), static_cast<int>(bytes)), offsets(static_cast<size_t>(size));
    for (int r = 0; r < size; ++r) offsets[static_cast<size_t>(r)] = r * static_cast<int>(bytes);
    const int reps = bytes < (1 << 20) ? 200 : 20;
    std::vector<double> t;
    for (int i = 0; i < reps; ++i) {
      MPI_Barrier(MPI_COMM_WORLD);
      const double t0 = MPI_Wtime();
      MPI_Allgatherv(mine.data(), static_cast<int>(bytes), MPI_BYTE, all.data(), counts.data(), offsets.data(), MPI_BYTE, MPI_COMM_WORLD);
      t.push_back(MPI_Wtime() - t0);
    }
    std::sort(t.begin(), t.end());
    const double med = t[t.size() / 2];
    if (rank == 0) std::printf("%ld %.3e %.3e\n", bytes, med, static_cast<double>(bytes) * (size - 1) / med);
  }
  MPI_Finalize();
}
