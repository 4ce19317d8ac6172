#pragma once
// Everything a user of the engine needs: tensors, tapes, ops, transforms, gradcheck, random numbers, row shards
// (shards.hpp), tape-free products (linalg.hpp) and the allocator setting for training loops (memory.hpp).
#include "autodiff/finite.hpp"
#include "autodiff/gradcheck.hpp"
#include "autodiff/linalg.hpp"
#include "autodiff/memory.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"
#include "autodiff/shards.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/threads.hpp"
#include "autodiff/transforms.hpp"
