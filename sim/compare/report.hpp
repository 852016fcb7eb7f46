#pragma once
// kvsim compare's outputs: the terminal table, compare.json and compare.md (a CI summary).
// compare.json carries "warnings" (the scenario's and compare's own) and "gates" ({"checked":
// false} when no gate was set).

#include <string>

#include "sim/compare/gates.hpp"

namespace kvsim::compare {

Json to_json(const Comparison& c, const GateResult& gates);
std::string to_markdown(const Comparison& c, const GateResult& gates);
std::string to_table(const Comparison& c);

}  // namespace kvsim::compare
