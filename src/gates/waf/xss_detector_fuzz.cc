// libFuzzer target: arbitrary bytes through DetectXss. It must not crash, read out of bounds or
// hang on any input, and must give the same answer twice (it keeps no state between calls).
#include <cstdint>
#include <string_view>

#include "gates/waf/xss_detector.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  if (rampart::waf::DetectXss(in) != rampart::waf::DetectXss(in)) __builtin_trap();
  return 0;
}
