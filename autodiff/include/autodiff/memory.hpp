#pragma once
// How freed tensor buffers go back to the C library's allocator.

namespace ad {

/// Keeps freed large buffers in the process for reuse (Note [Freed buffers kept] in memory.cpp): with glibc,
/// blocks of up to 32 MiB then come from the heap rather than from fresh mappings, and the heap is trimmed only
/// when 256 MiB lie free at its top. Process-wide allocator settings (mallopt), documented global state like
/// ThreadLimit's: call it once at startup (the ebm tool and the benchmarks do). Returns false, changing nothing,
/// where the allocator is not glibc's (another C library, or a sanitizer's allocator, which refuses mallopt).
bool keep_freed_buffers();

}  // namespace ad
