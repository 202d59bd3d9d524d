// Parsing of the human units used in config: durations, sizes and rates.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rampart {

// "250ms", "10s", "1.5s", "5m", "1h", "1d", "100us"; a bare number is rejected (units required).
std::optional<std::chrono::microseconds> ParseDuration(std::string_view s);

// "64KiB", "10MiB", "1GiB", "512B", "1500", "16KB" (KB/MB/GB are decimal).
std::optional<std::uint64_t> ParseSize(std::string_view s);

// "100/s", "20/m", "10000/day", "5/h": events per period.
struct Rate {
  double count = 0;
  std::chrono::microseconds period{0};
  bool operator==(const Rate&) const = default;
};
std::optional<Rate> ParseRate(std::string_view s);

std::string FormatDuration(std::chrono::microseconds d);

}  // namespace rampart
