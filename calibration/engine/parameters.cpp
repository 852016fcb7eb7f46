#include "calibration/engine/parameters.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"
#include "sim/core/units.hpp"

namespace kvsim::engine_fit {
namespace {

// A duration string, in microseconds, or nothing when the string is not a duration.
std::optional<double> duration_us(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  try {
    return parse_duration(v.get<std::string>()) * 1e6;
  } catch (const UnitError&) {
    return std::nullopt;
  }
}

void collect(const Json& j, const std::string& at, std::vector<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) collect(value, at + "/" + key, out);
  } else if ((j.is_number() && !j.is_boolean()) || duration_us(j)) {
    out.push_back(at);
  }
}

Json::json_pointer pointer_of(const std::string& text, const std::string& source) {
  try {
    return Json::json_pointer(text);
  } catch (const Json::exception&) {
    throw InputError(source, "",
                     fmt::format("'{}' is not a JSON pointer into the engine (like "
                                 "/host/per_pass)",
                                 text));
  }
}

Parameter resolve_one(const Json& engine, const std::string& text, const std::string& source) {
  const Json::json_pointer ptr = pointer_of(text, source);
  const std::vector<std::string> fittable = fittable_pointers(engine);
  if (!engine.contains(ptr)) {
    throw InputError(source, "",
                     fmt::format("{} is not in the base engine; its fittable parameters are: "
                                 "{}{}",
                                 text, fmt::join(fittable, ", "),
                                 text.starts_with("/all_reduce/latency/")
                                     ? " (a latency by GPU count is fittable once the base "
                                       "engine's custom all-reduce lists that count)"
                                     : ""));
  }
  const Json& v = engine.at(ptr);
  Parameter p;
  p.pointer = text;
  if (const auto us = duration_us(v)) {
    p.kind = ParameterKind::duration_us;
    p.base = *us;
    p.step = 100;  // 100 us: the 1 ns rounding of simulated time is 1e-5 of a step
  } else if (v.is_number() && !v.is_boolean()) {
    p.kind = ParameterKind::scale;
    p.base = v.get<double>();
    p.step = 1;
  } else {
    throw InputError(source, "",
                     fmt::format("{} is {}, which calibrate-engine cannot fit: it fits durations "
                                 "and scale factors, which enter predictions linearly; fittable "
                                 "here: {}",
                                 text, v.dump(), fmt::join(fittable, ", ")));
  }
  if (!std::isfinite(p.base) || p.base < 0) {
    throw InputError(source, "", fmt::format("{} is {} in the base engine; a fitted parameter "
                                             "starts from a finite value of at least 0",
                                             text, v.dump()));
  }
  return p;
}

}  // namespace

std::vector<std::string> fittable_pointers(const Json& engine) {
  std::vector<std::string> out;
  collect(engine, "", out);
  return out;
}

std::vector<Parameter> resolve_parameters(const Json& base_engine,
                                          const std::vector<std::string>& pointers,
                                          const std::string& source) {
  if (pointers.empty()) {
    throw InputError(source, "", fmt::format("no parameter to fit; fittable: {}",
                                             fmt::join(fittable_pointers(base_engine), ", ")));
  }
  std::vector<Parameter> out;
  for (const std::string& text : pointers) {
    const auto same = [&](const Parameter& p) { return p.pointer == text; };
    if (std::any_of(out.begin(), out.end(), same)) {
      throw InputError(source, "", fmt::format("{} is listed twice", text));
    }
    out.push_back(resolve_one(base_engine, text, source));
  }
  return out;
}

double rounded(const Parameter& p, double value) {
  value = std::max(0.0, value);  // fits are non-negative; never write "-0.000us"
  if (p.kind == ParameterKind::duration_us) return std::round(value * 1e3) / 1e3;
  return std::stod(fmt::format("{:.6g}", value));
}

std::string format_value(const Parameter& p, double value) {
  if (p.kind == ParameterKind::duration_us) return fmt::format("{:.3f}us", rounded(p, value));
  return fmt::format("{:.6g}", value);
}

Json with_values(const Json& engine, const std::vector<Parameter>& parameters,
                 const std::vector<double>& values) {
  Json out = engine;
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    const Parameter& p = parameters[i];
    const Json::json_pointer ptr(p.pointer);
    if (p.kind == ParameterKind::duration_us) {
      out[ptr] = format_value(p, values[i]);
    } else {
      out[ptr] = rounded(p, values[i]);
    }
  }
  return out;
}

}  // namespace kvsim::engine_fit
