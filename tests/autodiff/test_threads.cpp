// ad::ThreadLimit must really limit the kernels' threads: every "1 thread and 2 threads agree" test in this
// suite compares nothing if it does not.
#include <doctest/doctest.h>

#include <autodiff/autodiff.hpp>
#include <mutex>
#include <set>
#include <thread>

#include <tbb/parallel_for.h>

namespace {
// Distinct threads that ran pieces of a parallel loop long enough for every worker to join in.
size_t threads_used() {
  std::set<std::thread::id> ids;
  std::mutex m;
  tbb::parallel_for(0, 256, [&](int) {
    volatile double x = 0;
    for (int i = 0; i < 20000; ++i) x = x + 1e-9 * i;
    std::lock_guard<std::mutex> lock(m);
    ids.insert(std::this_thread::get_id());
  });
  return ids.size();
}
}  // namespace

TEST_CASE("ThreadLimit: the kernels use one thread under a limit of 1, and the limit ends with the object") {
  // The default as TBB sees it (it honours the process's CPU affinity, which std::thread::hardware_concurrency
  // does not), so the test holds under taskset or a CPU-limited container too.
  const int before = ad::ThreadLimit::active();
  {
    ad::ThreadLimit one(1);
    CHECK(ad::ThreadLimit::active() == 1);
    CHECK(threads_used() == 1);
  }
  CHECK(ad::ThreadLimit::active() == before);
  if (before >= 2) {
    ad::ThreadLimit two(2);
    CHECK(ad::ThreadLimit::active() == 2);
    // Not asserted to be 2: the scheduler may leave a worker idle. The limit is what matters.
    CHECK(threads_used() <= 2);
  }
}
