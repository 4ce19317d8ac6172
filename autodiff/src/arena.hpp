#pragma once
// A bump allocator made of large chunks, with marks. Rewinding to a mark frees everything allocated after it
// in O(1) (Stan's nested_rev_autodiff does the same) and keeps the chunks, so a tape reused across training
// iterations stops allocating after the first one.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ad::detail {

class Arena {
 public:
  struct Mark {
    size_t chunk = 0, offset = 0;
  };
  static constexpr size_t kAlign = 64;
  static constexpr size_t kMinChunk = size_t{4} << 20;

  void* allocate(size_t bytes);
  Mark mark() const { return {current_, offset_}; }
  void rewind(const Mark& m) {
    current_ = m.chunk;
    offset_ = m.offset;
  }
  size_t capacity() const;

 private:
  struct Free {
    void operator()(std::byte* p) const { ::operator delete[](p, std::align_val_t{kAlign}); }
  };
  struct Chunk {
    std::unique_ptr<std::byte[], Free> memory;
    size_t size = 0;
  };
  std::vector<Chunk> chunks_;
  size_t current_ = 0, offset_ = 0;
};

}  // namespace ad::detail
