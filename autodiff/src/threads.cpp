#include "autodiff/threads.hpp"

#include <tbb/global_control.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace ad {

// The control is constructed in place and never copied: TBB registers the object itself, and a copy (which
// tbb::global_control does not forbid) is not registered, while the destruction of the registered temporary lifts
// the limit. An earlier version built Impl from a temporary and so limited nothing (found by timing 1 thread).
struct ThreadLimit::Impl {
  explicit Impl(size_t threads) : control(tbb::global_control::max_allowed_parallelism, threads) {}
  tbb::global_control control;
};

ThreadLimit::ThreadLimit(int threads) {
  if (threads < 1) throw std::invalid_argument("ThreadLimit: threads must be at least 1, got " + std::to_string(threads));
  impl_ = std::make_unique<Impl>(static_cast<size_t>(threads));
}

int ThreadLimit::active() {
  return static_cast<int>(tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
}
ThreadLimit::~ThreadLimit() = default;

int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace ad
