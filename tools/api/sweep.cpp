// kvsim sweep's computation (see api.hpp): every point in parallel, then the summary.
#include "tools/api/api.hpp"

namespace kvsim::api {

SweepOutcome sweep(const sweep::SweepSpec& spec, bool strict,
                   const std::function<void(std::size_t done)>& progress) {
  SweepOutcome x;
  x.table = sweep::run_sweep(spec, progress, strict);
  x.summary = sweep::summarize(spec, x.table);
  return x;
}

}  // namespace kvsim::api
