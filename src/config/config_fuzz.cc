// libFuzzer target: arbitrary text as a configuration file. Must report errors, never crash.
#include <cstdint>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16 * 1024) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  auto result = rampart::config::LoadConfigText(text, "fuzz.yaml");
  if (!result.config && result.errors.empty()) __builtin_trap();
  return 0;
}
