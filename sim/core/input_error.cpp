#include "sim/core/input_error.hpp"

#include <algorithm>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace kvsim {
namespace {

std::string compose(const std::string& file, const std::string& pointer,
                    const std::string& message) {
  // A whole-run limit (a simulated time past 292 years) belongs to no one file.
  if (file.empty() && pointer.empty()) return message;
  std::string where = file.empty() ? std::string("<input>") : file;
  if (!pointer.empty()) where += fmt::format(": at {}", pointer);
  return fmt::format("{}: {}", where, message);
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

InputError::InputError(std::string file, std::string pointer, std::string message)
    : std::runtime_error(compose(file, pointer, message)),
      file_(std::move(file)),
      pointer_(std::move(pointer)),
      message_(std::move(message)) {}

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

std::string valid_values_hint(const std::string& word, const std::vector<std::string>& candidates) {
  std::string hint = fmt::format("valid values are: {}", fmt::join(candidates, ", "));
  const std::string close = closest_match(word, candidates);
  if (!close.empty()) hint += fmt::format("; did you mean '{}'?", close);
  return hint;
}

}  // namespace kvsim
