#pragma once
// Test helper: the InputError a callable throws (the test fails if it throws none).
#include <gtest/gtest.h>

#include "sim/core/input_error.hpp"

namespace kvsim {

template <class F>
InputError error_of(F f) {
  try {
    f();
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "no InputError thrown";
  return InputError("", "", "");
}

}  // namespace kvsim
