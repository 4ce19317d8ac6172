#pragma once
// Note [Memory budget]: sizes in an experiment file (data.n, model.hidden, sampler.chains, ...) imply memory
// that a run allocates long before it could report anything: a width of 10^6 asks for terabytes, and on Linux
// an allocation of that size may even succeed until its pages are touched, when the kernel kills the process.
// Such a file is refused before any work, as bad input (exit 2), naming the key whose size dominates. The
// estimate is a lower bound of what the run holds at once (every term counts what must exist, with a small
// factor for gradients, optimiser moments and copies), compared with the memory this process may use: the
// machine's physical memory, or the cgroup's limit when lower.
#include <cstdint>

#include "ebm/experiment/registry.hpp"

namespace ebm::experiment {

/// The bytes this process may use: physical memory, or the cgroup v2 / v1 limit when lower.
uint64_t memory_available();

/// InputError naming the dominant key when the sizes in `cfg` (validated) imply more than `available` bytes.
/// `data_cols` is the data's column count once loaded (0 before: the data then counts one column per row).
void check_memory_budget(const json& cfg, int64_t data_cols, int bytes_per_value, uint64_t available = memory_available());

}  // namespace ebm::experiment
