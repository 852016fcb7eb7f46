// AttentionGridFit (calibrated.hpp): fused attention priced as a linear model over its kernel's
// launch grid (attention_grid.hpp), and its profile JSON.
#include <algorithm>

#include "models/compute/attention_grid.hpp"
#include "models/compute/calibrated.hpp"

namespace kvsim {

const std::vector<std::string> kAttentionGridFeatures{
    "launch_s",   "s_per_wave_work",     "s_per_spread_work", "s_per_spread_masked_work",
    "s_per_byte", "s_per_split_combine", "s_per_spread_block"};

// The kernel splits the keys only to go faster: where the fit prices FlashAttention's split
// launch above the unsplit one, the unsplit one bounds it. This also keeps a cost from falling
// when a growing grid stops being split (more tokens never cost less).
// Where FlashAttention's choice is already unsplit (its features say no split), the two launches
// are the same one: priced once (serving prices a decode batch's attention every iteration).
double AttentionGridFit::predict(const Operation& op) const {
  auto at = [&](const AttentionFeatures& x) {
    return std::max(0.0, fit.predict({x[0], x[1], x[2], x[3], x[4], x[5], x[6]}));
  };
  const AttentionFeatures chosen = attention_grid_features(op, sms, ctas_per_sm, 0);
  const double seconds = at(chosen);
  if (chosen[5] == 0.0) return seconds;
  return std::min(seconds, at(attention_grid_features(op, sms, ctas_per_sm, 1)));
}

Json AttentionGridFit::to_json() const {
  return Json{{"kernel", "flash-attention-2 split-kv"},
              {"sms", sms},
              {"ctas_per_sm", ctas_per_sm},
              {"fit", fit.to_json(kAttentionGridFeatures)}};
}

AttentionGridFit AttentionGridFit::from_json(const ConfigNode& n) {
  (void)n.one_of("kernel", {"flash-attention-2 split-kv"});
  AttentionGridFit f;
  f.sms = static_cast<int>(n.count("sms"));
  if (f.sms < 1 || f.sms > 100000) n.at("sms").fail("must be a count of SMs from 1 to 100000");
  f.ctas_per_sm = static_cast<int>(n.count("ctas_per_sm"));
  if (f.ctas_per_sm < 1 || f.ctas_per_sm > 64) {
    n.at("ctas_per_sm").fail("must be from 1 to 64 blocks resident per SM");
  }
  f.fit = LinearFit::from_json(n.at("fit"), kAttentionGridFeatures);
  n.finish();
  return f;
}

}  // namespace kvsim
