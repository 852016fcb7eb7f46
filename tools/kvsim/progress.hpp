#pragma once
// The commands' progress display, now sim/core/progress.hpp (kvsim::Progress).

#include "sim/core/progress.hpp"

namespace kvsim::cli {

using kvsim::Progress;

}  // namespace kvsim::cli
