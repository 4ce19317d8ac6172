// An LD_PRELOAD shim for fault injection: write() to a file whose path contains EBM_FAULT_PATH fails with ENOSPC
// once more than EBM_FAULT_AFTER_BYTES bytes have gone to such files (in this process). Everything else passes
// through. Used by tests/cli/run_cli_tests.sh to fill the disk under a checkpoint or a metrics write.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long long written;

static int matches(int fd) {
  const char* pattern = getenv("EBM_FAULT_PATH");
  if (!pattern || !*pattern) return 0;
  char link[64], path[4096];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof path - 1);
  if (n < 0) return 0;
  path[n] = '\0';
  return strstr(path, pattern) != NULL;
}

ssize_t write(int fd, const void* buf, size_t count) {
  static ssize_t (*real_write)(int, const void*, size_t);
  if (!real_write) real_write = (ssize_t (*)(int, const void*, size_t))dlsym(RTLD_NEXT, "write");
  if (matches(fd)) {
    const char* after = getenv("EBM_FAULT_AFTER_BYTES");
    const long long limit = after ? atoll(after) : 0;
    if (written + (long long)count > limit) {
      errno = ENOSPC;
      return -1;
    }
    written += (long long)count;
  }
  return real_write(fd, buf, count);
}
