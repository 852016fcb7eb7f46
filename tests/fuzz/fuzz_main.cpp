// libFuzzer's entry for one target, chosen at compile time by KVSIM_FUZZ_TARGET (a function of
// tests/fuzz/targets.hpp): built once per target as fuzz_<target> with -DKVSIM_FUZZ=ON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tests/fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  kvsim::fuzz::KVSIM_FUZZ_TARGET(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
