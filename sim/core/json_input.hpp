#pragma once
// The JSON layer under the config reader: parsing a user's text with limits, quoting a value in
// a message without serialising all of it, and setting a value at a JSON pointer with errors
// that say what exists, instead of nlohmann's raw messages.
//
// Limits keep every later step safe: a document nested deeper than kMaxJsonDepth is refused
// before nlohmann builds it (copying, comparing and printing a value recurse once per level, so
// 10^5 levels would overflow the stack), and a number beyond double's range ("1e400") is an
// input error rather than an internal one.

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace kvsim {

using Json = nlohmann::json;

/// Deepest nesting of arrays and objects accepted (the shipped files use fewer than 10 levels).
inline constexpr std::size_t kMaxJsonDepth = 100;

/// Parses `text`; `name` stands for the file in messages. Throws InputError naming
/// name:line:column for a syntax error, a number out of range or nesting past kMaxJsonDepth.
Json parse_json(const std::string& text, const std::string& name);

/// `value` as JSON, cut to at most `max_chars` characters (ending in "..."); the work is bounded
/// by max_chars, whatever the size or depth of the value.
std::string short_dump(const Json& value, std::size_t max_chars = 60);

/// Sets `value` at `pointer` in `document`. The pointer's parent must exist; its last step may
/// name a new key of an object, or append to an array ("-" or the array's size) when
/// `may_create` is true, else it must name an existing value. Throws InputError(file, pointer,
/// ...) naming the deepest part of the pointer that exists and what is there (its keys, or its
/// size); never grows an array by more than one element.
void set_at_pointer(Json& document, const std::string& pointer, Json value,
                    const std::string& file, bool may_create);

}  // namespace kvsim
