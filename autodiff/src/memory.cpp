#include "autodiff/memory.hpp"

#include <cstdlib>  // defines __GLIBC__ under glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ad {

// Note [Freed buffers kept]: glibc serves a request above M_MMAP_THRESHOLD (128 KiB at first, then raised to
// the largest mapped block freed so far) with a fresh mmap, and gives the free top of its heap back to the system
// above M_TRIM_THRESHOLD. A training step allocates the same few buffers of 0.1–2 MB at every step (the batch,
// chain states, pre-activations, gradients); a buffer mapped afresh, or trimmed away and grown again, costs a
// page fault for every 4 KiB on first touch, several µs each on a virtual machine; with both thresholds raised,
// the buffers of one step are served again from the heap at the next. Both thresholds are set: setting either one
// alone turns off glibc's adjustment of the other, and then either the heap top is trimmed at every free (mapping
// threshold alone) or every buffer above 128 KiB is mapped afresh (trim threshold alone). tests/autodiff/
// test_memory.cpp checks that an 8 MiB block comes from the heap and stays there once freed.
bool keep_freed_buffers() {
#if defined(__GLIBC__)
  constexpr int kMapAbove = 32 << 20;  // glibc's upper limit for the mapping threshold on 64-bit targets
  constexpr int kTrimAbove = 256 << 20;
  return mallopt(M_MMAP_THRESHOLD, kMapAbove) == 1 && mallopt(M_TRIM_THRESHOLD, kTrimAbove) == 1;
#else
  return false;
#endif
}

}  // namespace ad
