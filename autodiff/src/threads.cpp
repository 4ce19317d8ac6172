#include "autodiff/threads.hpp"

#include <tbb/global_control.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace ad {

struct ThreadLimit::Impl {
  tbb::global_control control;
};

ThreadLimit::ThreadLimit(int threads) {
  if (threads < 1) throw std::invalid_argument("ThreadLimit: threads must be at least 1, got " + std::to_string(threads));
  impl_ = std::make_unique<Impl>(Impl{tbb::global_control(tbb::global_control::max_allowed_parallelism,
                                                          static_cast<size_t>(threads))});
}
ThreadLimit::~ThreadLimit() = default;

int hardware_threads() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace ad
