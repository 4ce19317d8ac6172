#pragma once
// The processes one `ebm` command runs in: a single one, or an MPI job (`mpirun -np P ebm run x.json`, in a build
// with the CMake option EBM_MPI). Only `run` shares its work (Note [Shards across processes]); every other command
// runs on the first process alone.
#include <memory>

#include <ebm/optim/shard_comm.hpp>

namespace cli {

/// Joins the MPI job when mpirun started this process (MPI_Init_thread; MPI_Finalize at exit), else a single
/// process. UsageError when a launcher started several processes but this build has no MPI: each would train the
/// whole experiment into the same directory.
std::shared_ptr<const ebm::ShardComm> join_processes(int* argc, char*** argv);

/// After a failure on one process of several: ends every process of the job with `code` (the others would wait
/// for it forever). Nothing for a single process.
void abort_processes(int code);

}  // namespace cli
