// libFuzzer target: arbitrary bytes through DetectSqli. It must not crash, read out of bounds or
// hang on any input; asking for the fingerprint must not change the verdict; the fingerprint is
// empty exactly when nothing matched and holds at most 15 token letters.
#include <cstdint>
#include <string>
#include <string_view>

#include "gates/waf/sqli_detector.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string fingerprint = "stale";
  const bool hit = rampart::waf::DetectSqli(in, &fingerprint);
  if (hit != rampart::waf::DetectSqli(in)) __builtin_trap();
  if (hit == fingerprint.empty() || fingerprint.size() > 15) __builtin_trap();
  return 0;
}
