#pragma once
// Fuzz entry points: one per input reader, each feeding arbitrary bytes to the same function the
// command line calls for that kind of file.
//
// A target returns normally when the reader accepts the input or refuses it with an InputError
// (both are correct behaviour); anything else escaping it — another exception, a crash, a
// sanitizer report, a hang — is a bug. libFuzzer drives them (tests/fuzz/fuzz_main.cpp, built
// with -DKVSIM_FUZZ=ON under clang), and the default test suite replays the committed crashers
// in tests/fuzz/crashers/<target>/ through them (crasher_replay_test.cpp).

#include <span>
#include <string_view>

namespace kvsim::fuzz {

using Target = void (*)(std::string_view input);

struct NamedTarget {
  const char* name;  // also the folder of its crashers and the libFuzzer binary's suffix
  Target run;
};

void scenario(std::string_view input);      // a scenario file, loaded as `kvsim validate` does
void sweep(std::string_view input);         // a sweep file, and its first points' scenarios
void measurements(std::string_view input);  // measured TTFT for `kvsim compare` (JSON or CSV)
void hf_config(std::string_view input);     // a Hugging Face config.json
void trace(std::string_view input);         // a serving workload's trace CSV
void predictor(std::string_view input);     // a KVR-P predictor file
void profile(std::string_view input);       // a calibrated device profile

/// Every target, by name.
std::span<const NamedTarget> targets();

}  // namespace kvsim::fuzz
