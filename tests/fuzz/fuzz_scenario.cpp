// libFuzzer target for the scenario parser (tools/fuzz.sh builds and runs it). Any input must
// either parse or be rejected with InputError; anything else — a crash, a sanitizer report, another
// exception type — is a bug. An input whose first line starts with "--set " has that line applied
// as a command-line override, so the override path is fuzzed too.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "host/config/scenario.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  if (text.rfind("--set ", 0) == 0) {
    const std::size_t end = text.find('\n');
    overrides.push_back(text.substr(6, end == std::string::npos ? std::string::npos : end - 6));
    text = end == std::string::npos ? std::string() : text.substr(end + 1);
  }
  try {
    cordsim::parse_scenario(text, "<fuzz>", overrides);
  } catch (const cordsim::InputError&) {
    // The expected outcome for bad input.
  }
  return 0;
}
