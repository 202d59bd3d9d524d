// libFuzzer target: arbitrary YAML as a rate_limit gate's settings. Reading must report errors,
// never crash; a limit it accepts must then decide without overflow (UBSan watches the
// arithmetic) across extreme times.
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>

#include "gates/rate_limit/algorithm.h"
#include "gates/rate_limit/rate_limit_config.h"
#include "gates/rate_limit/sliding_log.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 4096) return 0;
  YAML::Node node;
  try {  // yaml-cpp reports syntax errors by throwing; the config loader catches them the same way
    node = YAML::Load(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const YAML::Exception&) {
    return 0;
  }
  std::vector<rampart::config::ConfigError> errors;
  rampart::config::YamlReader reader("fuzz.yaml", errors);
  auto cfg = rampart::rate_limit::ReadRateLimitConfig(node, reader, "gate", "r", true);
  if (!cfg) {
    if (errors.empty()) __builtin_trap();
    return 0;
  }
  using rampart::rate_limit::Algorithm;
  for (const auto& l : cfg->limits) {
    rampart::rate_limit::Cell cell;
    rampart::rate_limit::SlidingLog log;
    const std::int64_t times[] = {1, 1'790'000'000LL * 1'000'000, 1'790'000'000LL * 1'000'000 + 1,
                                  4'000'000'000LL * 1'000'000};
    for (std::int64_t now : times) {
      for (int i = 0; i < 3; ++i) {
        if (l.policy.algorithm == Algorithm::kSlidingWindowLog) {
          if (l.policy.limit <= 4096) log.Acquire(l.policy, now);
        } else {
          auto o = rampart::rate_limit::Acquire(l.policy, cell, now, 1, 0);
          if (o.allowed && o.retry_after_us != 0) __builtin_trap();
          if (!o.allowed && o.retry_after_us <= 0) __builtin_trap();
        }
      }
      rampart::rate_limit::Refund(l.policy, cell, now);
    }
  }
  return 0;
}
