#include "arena.hpp"

#include <algorithm>
#include <new>

namespace ad::detail {

void* Arena::allocate(size_t bytes) {
  bytes = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  if (current_ < chunks_.size() && offset_ + bytes <= chunks_[current_].size) {
    void* p = chunks_[current_].memory.get() + offset_;
    offset_ += bytes;
    return p;
  }
  // Chunks after the current one are free: reuse the first big enough one, moving it next in line.
  const size_t next = chunks_.empty() ? 0 : current_ + 1;
  for (size_t i = next; i < chunks_.size(); ++i) {
    if (chunks_[i].size >= bytes) {
      std::swap(chunks_[i], chunks_[next]);
      current_ = next;
      offset_ = bytes;
      return chunks_[next].memory.get();
    }
  }
  const size_t size = std::max({bytes, kMinChunk, capacity() / 2});
  Chunk c{std::unique_ptr<std::byte[], Free>(new (std::align_val_t{kAlign}) std::byte[size]), size};
  chunks_.insert(chunks_.begin() + static_cast<std::ptrdiff_t>(std::min(next, chunks_.size())), std::move(c));
  current_ = std::min(next, chunks_.size() - 1);
  offset_ = bytes;
  return chunks_[current_].memory.get();
}

size_t Arena::capacity() const {
  size_t total = 0;
  for (const Chunk& c : chunks_) total += c.size;
  return total;
}

}  // namespace ad::detail
