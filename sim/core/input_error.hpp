#pragma once
// The one exception type for bad user input.
//
// It carries the file, the JSON pointer of the offending value and a message that says what
// would be valid. Library code throws it; only main() turns it into a line on stderr and exit
// code 2.

#include <stdexcept>
#include <string>
#include <vector>

namespace kvsim {

class InputError : public std::runtime_error {
 public:
  InputError(std::string file, std::string pointer, std::string message);

  const std::string& file() const { return file_; }
  const std::string& pointer() const { return pointer_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  std::string pointer_;
  std::string message_;
};

/// The closest candidate to `word` by edit distance, or "" when none is close enough.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

/// "Valid values are: a, b, c" plus "; did you mean 'b'?" when one is close.
std::string valid_values_hint(const std::string& word, const std::vector<std::string>& candidates);

}  // namespace kvsim
