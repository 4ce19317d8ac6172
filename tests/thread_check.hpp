#pragma once
// For tests that compare results on 1 and on 2 (or more) threads: on a machine that gives fewer threads the
// comparison would be of a run with itself, and pass whatever the code does. Such a test fails there instead.
#include <doctest/doctest.h>

#include <autodiff/threads.hpp>

/// Fails the test unless the kernels may use at least n threads now.
#define REQUIRE_THREADS(n)                                                                                  \
  REQUIRE_MESSAGE(ad::ThreadLimit::active() >= (n), "this test compares thread counts and needs " << (n) \
                                                        << " threads; the kernels may use " << ad::ThreadLimit::active())
