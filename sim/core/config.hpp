#pragma once
// Reading JSON input with precise errors.
//
// ConfigDocument owns a parsed file (syntax errors reported as file:line:column) and applies
// `--set /pointer=value` overrides. ConfigNode is a cursor on one value that knows its file and
// JSON pointer; typed getters validate (type, range, unit, one-of) and throw InputError naming
// both. An object node remembers which keys were read, and finish() rejects the rest with a
// "did you mean". Nodes are cheap handles; the document must outlive them.

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/core/input_error.hpp"
#include "sim/core/json_input.hpp"
#include "sim/core/time.hpp"

namespace kvsim {

class ConfigNode {
 public:
  ConfigNode(const Json* value, std::string file, Json::json_pointer pointer);

  // --- where this value is
  const std::string& file() const { return *file_; }
  /// A path written in this file, made relative to the file's directory (absolute unchanged).
  std::string resolve_path(const std::string& path) const;
  std::string pointer() const { return pointer_.to_string(); }
  const Json& json() const { return *value_; }
  [[noreturn]] void fail(const std::string& message) const;

  // --- objects: children by key (each read marks the key as known)
  bool has(const std::string& key) const;
  ConfigNode at(const std::string& key) const;  // required
  std::optional<ConfigNode> find(const std::string& key) const;
  /// Rejects keys that no getter has read, naming the closest known key.
  void finish(const std::vector<std::string>& also_allowed = {}) const;

  // --- arrays
  std::vector<ConfigNode> elements() const;
  std::size_t size() const;

  // --- this value, typed and validated
  std::string as_string() const;
  bool as_bool() const;
  double as_number() const;
  std::int64_t as_integer() const;
  std::string as_one_of(const std::vector<std::string>& valid) const;
  double as_seconds() const;      // "5us"
  Duration as_duration() const;   // "5us", as integer nanoseconds
  double as_bytes() const;        // "80GiB"
  double as_bandwidth() const;    // "300GB/s" -> bytes/s
  double as_flop_rate() const;    // "312TFLOP/s" -> FLOP/s
  double as_rate() const;         // "4/s" -> 1/s

  // --- shorthands for fields of this object
  std::string string(const std::string& key) const { return at(key).as_string(); }
  std::string string_or(const std::string& key, const std::string& fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  /// An integer >= min.
  std::int64_t count(const std::string& key, std::int64_t min = 1) const;
  std::int64_t count_or(const std::string& key, std::int64_t fallback, std::int64_t min = 1) const;
  /// A number in [min, max].
  double number(const std::string& key, double min, double max) const;
  double number_or(const std::string& key, double fallback, double min, double max) const;
  std::string one_of(const std::string& key, const std::vector<std::string>& valid) const;
  std::string one_of_or(const std::string& key, const std::string& fallback,
                        const std::vector<std::string>& valid) const;

 private:
  void expect(bool ok, const char* what) const;
  std::string type_name() const;

  const Json* value_;
  std::shared_ptr<const std::string> file_;
  std::shared_ptr<const std::string> directory_;  // for resolve_path; "" is the working dir
  friend class ConfigDocument;
  Json::json_pointer pointer_;
  std::shared_ptr<std::set<std::string>> used_;  // keys read from this object
};

class ConfigDocument {
 public:
  /// Reads and parses a JSON file; syntax errors name file:line:column.
  static ConfigDocument load_file(const std::string& path);
  /// Parses text; `name` stands in for the file in messages.
  static ConfigDocument parse(const std::string& text, const std::string& name);
  /// `directory` anchors relative paths in the document; by default the directory of `name`.
  ConfigDocument(Json value, std::string name, std::optional<std::string> directory = {});

  /// Applies "/json/pointer=value"; the value is read as JSON when it parses, else as a string.
  /// The pointer must name an existing value (an InputError says what exists where it stops).
  void apply_override(const std::string& assignment);

  ConfigNode root() const;
  const Json& json() const { return json_; }
  const std::string& name() const { return name_; }
  /// The directory relative paths in the document are resolved against ("": the working dir).
  const std::string& directory() const { return directory_; }

 private:
  Json json_;
  std::string name_;
  std::string directory_;
};

}  // namespace kvsim
