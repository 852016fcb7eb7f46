#include "sim/distributed/assignment.hpp"

#include <charconv>

#include <fmt/format.h>

#include "sim/core/input_error.hpp"

namespace kvsim::distributed {
namespace {

// A whole decimal number without sign or spaces, or false.
bool parse_count(std::string_view text, std::size_t& out) {
  if (text.empty()) return false;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::string Shard::text() const { return fmt::format("{}/{}", index, count); }

Shard parse_shard(const std::string& text, const std::string& where) {
  const std::size_t slash = text.find('/');
  Shard shard;
  const std::string_view view(text);
  if (slash == std::string::npos || !parse_count(view.substr(0, slash), shard.index) ||
      !parse_count(view.substr(slash + 1), shard.count)) {
    throw InputError(where, "", fmt::format("'{}' is not a shard: write K/N, shard K of N "
                                            "(for example 1/4 ... 4/4)", text));
  }
  if (shard.count == 0 || shard.index == 0 || shard.index > shard.count) {
    throw InputError(where, "", fmt::format("'{}' is not a shard: K/N needs 1 <= K <= N "
                                            "(shards are numbered from 1)", text));
  }
  return shard;
}

std::vector<std::size_t> items_of(std::size_t count, std::size_t worker, std::size_t workers) {
  std::vector<std::size_t> items;
  for (std::size_t i = worker; i < count; i += workers) items.push_back(i);
  return items;
}

std::vector<std::size_t> share_of(const std::vector<std::size_t>& items, std::size_t worker,
                                  std::size_t workers) {
  std::vector<std::size_t> share;
  for (std::size_t j = worker; j < items.size(); j += workers) share.push_back(items[j]);
  return share;
}

std::vector<std::size_t> items_of(std::size_t count, const Shard& shard) {
  return items_of(count, shard.index - 1, shard.count);
}

}  // namespace kvsim::distributed
