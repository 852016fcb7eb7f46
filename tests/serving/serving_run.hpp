#pragma once
// A serving scenario for tests: Llama-2-7B on the given cluster (one A100 by default) with the
// roofline, and the "serving" section given (and an "engine", when not null); summary() runs it
// from scratch each time.
#include "sim/serving/engine.hpp"

namespace kvsim::serving {

struct ServingRun {
  ConfigDocument doc;
  Scenario scenario;
  explicit ServingRun(Json serving, Json cluster = {{"gpu", "a100-sxm4-80gb"}},
                      Json engine = nullptr)
      : doc(with_engine(Json{{"model", "llama-2-7b"},
                             {"cluster", std::move(cluster)},
                             {"compute", {{"type", "roofline"}}},
                             {"serving", std::move(serving)}},
                        std::move(engine)),
            "serving.json"),
        scenario(load_scenario(doc)) {}
  Json summary(const ServingObservers& observers = {}) {
    ServingSetup setup = ServingSetup::from_config(doc.root().at("serving"), scenario);
    Workload w(doc.root().at("serving").at("workload"), RandomStreams(scenario.seed),
               scenario.model.max_context);
    return simulate_serving(scenario, setup, std::move(w), observers).summary;
  }
  static Json with_engine(Json scenario, Json engine) {
    if (!engine.is_null()) scenario["engine"] = std::move(engine);
    return scenario;
  }
};

}  // namespace kvsim::serving
