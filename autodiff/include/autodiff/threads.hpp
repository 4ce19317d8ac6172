#pragma once
// How many threads the kernels may use. Results never depend on it (see kernels/parallel.hpp).
#include <memory>

namespace ad {

/// While alive, limits the engine's parallel kernels to `threads` threads (process-wide, like
/// tbb::global_control, which it wraps). Documented global state: the only one the engine has.
class ThreadLimit {
 public:
  explicit ThreadLimit(int threads);
  ~ThreadLimit();
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

  /// The number of threads the kernels may use now (the smallest live limit, else the hardware's).
  static int active();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The number of hardware threads.
int hardware_threads();

}  // namespace ad
