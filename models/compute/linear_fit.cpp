#include "models/compute/linear_fit.hpp"

namespace kvsim {

double LinearFit::predict(std::initializer_list<double> features) const {
  double t = 0;
  std::size_t i = 0;
  for (const double f : features) t += coefficients.at(i++) * f;
  return t;
}

Json LinearFit::to_json(const std::vector<std::string>& names) const {
  Json c = Json::object();
  for (std::size_t i = 0; i < names.size(); ++i) c[names[i]] = coefficients[i];
  return Json{{"coefficients", c},
              {"points", points},
              {"loo_median_relative_error", loo_median},
              {"loo_worst_relative_error", loo_worst}};
}

LinearFit LinearFit::from_json(const ConfigNode& n, const std::vector<std::string>& names) {
  LinearFit f;
  const ConfigNode c = n.at("coefficients");
  for (const std::string& name : names) f.coefficients.push_back(c.at(name).as_number());
  c.finish();
  f.points = static_cast<std::size_t>(n.count_or("points", 0, 0));
  f.loo_median = n.number_or("loo_median_relative_error", 0, 0, 1e9);
  f.loo_worst = n.number_or("loo_worst_relative_error", 0, 0, 1e9);
  n.finish();
  return f;
}

}  // namespace kvsim
