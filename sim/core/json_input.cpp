#include "sim/core/json_input.hpp"

#include <algorithm>
#include <cctype>
#include <vector>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sim/core/input_error.hpp"

namespace kvsim {
namespace {

// Line and column (1-based) of a byte offset, for syntax errors.
std::string line_column(const std::string& name, const std::string& text, std::size_t byte) {
  std::size_t line = 1;
  std::size_t column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}:{}", name, line, column);
}

// The offset of the first bracket that opens level kMaxJsonDepth + 1, or npos. Strings are
// skipped (brackets in them do not nest); malformed text is left to the parser.
std::size_t too_deep_at(const std::string& text) {
  std::size_t depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string::npos;
}

// nlohmann reports a number out of double's range (out_of_range.406) without a position: find
// the literal it quotes ("number overflow parsing '1e400'") in the text.
std::size_t literal_at(const std::string& text, const std::string& message) {
  const auto open = message.find('\'');
  const auto close = message.rfind('\'');
  if (open == std::string::npos || close <= open) return 0;
  const auto at = text.find(message.substr(open + 1, close - open - 1));
  return at == std::string::npos ? 0 : at;
}

// A scalar as JSON; bytes that are not UTF-8 (from a CSV or the command line) print as U+FFFD
// instead of making the message itself fail.
std::string dump_scalar(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

void dump_into(const Json& value, std::string& out, std::size_t max_chars) {
  if (out.size() > max_chars) return;
  if (!value.is_structured()) {
    out += dump_scalar(value);
    return;
  }
  const bool object = value.is_object();
  out += object ? '{' : '[';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() <= max_chars; ++it) {
    if (!first) out += ',';
    first = false;
    if (object) out += dump_scalar(Json(it.key())) + ':';
    dump_into(*it, out, max_chars);
  }
  out += object ? '}' : ']';
}


// The reference tokens of a pointer that nlohmann accepted ("/a~1b/0" -> "a/b", "0").
std::vector<std::string> tokens_of(const std::string& pointer) {
  std::vector<std::string> tokens;
  std::size_t start = 1;
  while (start <= pointer.size()) {
    const std::size_t end = std::min(pointer.find('/', start), pointer.size());
    std::string token;
    for (std::size_t i = start; i < end; ++i) {
      if (pointer[i] == '~') token += pointer[++i] == '1' ? '/' : '~';
      else token += pointer[i];
    }
    tokens.push_back(std::move(token));
    start = end + 1;
  }
  return tokens;
}

std::string escape_token(const std::string& token) {
  std::string out;
  for (const char c : token) out += c == '~' ? "~0" : c == '/' ? "~1" : std::string(1, c);
  return out;
}

// An array index as RFC 6901 writes it (digits, no leading zero), or "-" for one past the end;
// anything else is npos. Nineteen digits or more cannot be an index of a real array.
std::size_t array_index(const std::string& token, std::size_t size) {
  if (token == "-") return size;
  if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0')) {
    return std::string::npos;
  }
  std::size_t index = 0;
  for (const char c : token) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::string::npos;
    index = index * 10 + static_cast<std::size_t>(c - '0');
  }
  return index;
}

std::string missing_key(const Json& object, const std::string& key, const std::string& where) {
  std::vector<std::string> keys;
  for (const auto& [k, _] : object.items()) keys.push_back(k);
  if (keys.empty()) return fmt::format("the path does not exist: {} is an empty object", where);
  return fmt::format("the path does not exist: {} has no key '{}'; {}", where, key,
                     valid_values_hint(key, keys));
}

// Why a pointer walk stopped; set_at_pointer adds the file and the whole pointer.
struct PathError {
  std::string message;
};

// One step of a pointer walk: the child `token` names, or, when `create` allows it, a new
// null member or element for the caller to fill. Throws PathError naming what is there.
Json* step(Json& node, const std::string& token, const std::string& here, bool create) {
  if (node.is_object()) {
    const auto it = node.find(token);
    if (it != node.end()) return &*it;
    if (create) return &node[token];
    throw PathError{missing_key(node, token, here)};
  }
  if (!node.is_array()) {
    throw PathError{fmt::format("the path does not exist: {} is {} {}, which has no '{}' inside",
                                here, node.type_name(), short_dump(node), token)};
  }
  const std::size_t size = node.size();
  const std::size_t index = array_index(token, size);
  if (index < size) return &node[index];
  if (index == size && create) return &node.emplace_back();
  const std::string valid = size == 0 ? std::string("it is empty")
                                      : fmt::format("valid indices are 0 to {}", size - 1);
  throw PathError{fmt::format("the path does not exist: '{}' is not an index of the {}-element "
                              "array at {}; {}{}",
                              token, size, here, valid,
                              create ? fmt::format(" ({} or - appends)", size) : "")};
}

}  // namespace

Json parse_json(const std::string& text, const std::string& name) {
  if (const std::size_t at = too_deep_at(text); at != std::string::npos) {
    throw InputError(line_column(name, text, at), "",
                     fmt::format("JSON nested deeper than {} levels", kMaxJsonDepth));
  }
  try {
    return Json::parse(text);
  } catch (const Json::parse_error& e) {
    std::string reason = e.what();
    // nlohmann's message starts with "[json.exception.parse_error.101] parse error at ...: ".
    if (const auto colon = reason.rfind(": "); colon != std::string::npos) {
      reason = reason.substr(colon + 2);
    }
    throw InputError(line_column(name, text, e.byte == 0 ? 0 : e.byte - 1), "",
                     fmt::format("JSON syntax error: {}", reason));
  } catch (const Json::out_of_range& e) {
    throw InputError(line_column(name, text, literal_at(text, e.what())), "",
                     "number out of range: JSON numbers must fit a double (at most about "
                     "1.8e308 in magnitude)");
  }
}

std::string short_dump(const Json& value, std::size_t max_chars) {
  std::string out;
  dump_into(value, out, max_chars);
  if (out.size() > max_chars) out = out.substr(0, max_chars - 3) + "...";
  return out;
}


void set_at_pointer(Json& document, const std::string& pointer, Json value,
                    const std::string& file, bool may_create) {
  try {
    (void)Json::json_pointer(pointer);
  } catch (const Json::exception&) {
    throw InputError(file, pointer, "not a JSON pointer: write it as /key/0/key (RFC 6901; '~' "
                                    "is written ~0 and '/' inside a key ~1)");
  }
  const std::vector<std::string> tokens = pointer.empty() ? std::vector<std::string>{}
                                                          : tokens_of(pointer);
  Json* node = &document;
  std::string where;  // the part of the pointer walked so far
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const bool create = may_create && i + 1 == tokens.size();
    try {
      node = step(*node, tokens[i], where.empty() ? "the top level" : where, create);
    } catch (const PathError& e) {
      throw InputError(file, pointer, e.message);
    }
    where += "/" + escape_token(tokens[i]);
  }
  *node = std::move(value);
}

}  // namespace kvsim
