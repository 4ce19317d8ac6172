#pragma once
// Everything a user of the engine needs: tensors, tapes, ops, transforms, gradcheck and random numbers.
#include "autodiff/gradcheck.hpp"
#include "autodiff/ops.hpp"
#include "autodiff/random.hpp"
#include "autodiff/tape.hpp"
#include "autodiff/tensor.hpp"
#include "autodiff/threads.hpp"
#include "autodiff/transforms.hpp"
