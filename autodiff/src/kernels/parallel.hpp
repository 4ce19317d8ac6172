#pragma once
// Parallel loops whose results never depend on the thread count: every output element is computed by
// exactly one iteration, in a fixed order, and reductions combine fixed-size chunks in index order.
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <cstdint>

namespace ad::kernels {

/// Runs body(lo, hi) over [0, n) in pieces of `grain` (serially when n is below `serial_below`).
template <class F>
void parallel_range(int64_t n, int64_t grain, int64_t serial_below, F&& body) {
  if (n <= 0) return;
  if (n < serial_below || n <= grain) {
    body(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int64_t>(0, n, grain),
                    [&](const tbb::blocked_range<int64_t>& r) { body(r.begin(), r.end()); },
                    tbb::simple_partitioner());
}

}  // namespace ad::kernels
