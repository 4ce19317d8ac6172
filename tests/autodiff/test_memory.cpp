// ad::keep_freed_buffers (Note [Freed buffers kept]): under glibc, large blocks must come from the heap and stay
// there once freed, or a training step maps and faults its buffers in afresh. Elsewhere (another C library, or a
// sanitizer's allocator) it must say that it changed nothing.
#include <doctest/doctest.h>

#include <autodiff/memory.hpp>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

TEST_CASE("keep_freed_buffers: large blocks come from the heap and stay in it when freed") {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  CHECK_FALSE(ad::keep_freed_buffers());  // the sanitizer's own allocator ignores mallopt (it returns 0)
#elif defined(__GLIBC__)
  REQUIRE(ad::keep_freed_buffers());
  constexpr size_t kBytes = size_t{8} << 20;  // far above glibc's default mapping threshold (128 KiB)
  const size_t mapped_before = mallinfo2().hblkhd;
  void* volatile block = std::malloc(kBytes);
  REQUIRE(block != nullptr);
  std::memset(block, 1, kBytes);
  CHECK(mallinfo2().hblkhd == mapped_before);  // not a mapping of its own
  std::free(block);
  CHECK(mallinfo2().arena >= kBytes);  // the heap kept it (not trimmed)
#else
  CHECK_FALSE(ad::keep_freed_buffers());
#endif
}
