#include "core/units.h"

#include <charconv>
#include <cmath>

namespace rampart {
namespace {

// Splits "1.5ms" into 1.5 and "ms". Requires at least one digit, no sign, no spaces.
bool SplitNumber(std::string_view s, double& number, std::string_view& unit) {
  std::size_t i = 0;
  bool digits = false;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) {
    digits = digits || s[i] != '.';
    ++i;
  }
  if (!digits) return false;
  std::string_view num = s.substr(0, i);
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), number);
  if (ec != std::errc() || ptr != num.data() + num.size() || !std::isfinite(number)) return false;
  unit = s.substr(i);
  return true;
}

}  // namespace

std::optional<std::chrono::microseconds> ParseDuration(std::string_view s) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(s, n, unit)) return std::nullopt;
  double us_per_unit = 0;
  if (unit == "us")
    us_per_unit = 1;
  else if (unit == "ms")
    us_per_unit = 1e3;
  else if (unit == "s")
    us_per_unit = 1e6;
  else if (unit == "m")
    us_per_unit = 60e6;
  else if (unit == "h")
    us_per_unit = 3600e6;
  else if (unit == "d")
    us_per_unit = 86400e6;
  else
    return std::nullopt;
  double us = n * us_per_unit;
  if (us > 1e17) return std::nullopt;
  return std::chrono::microseconds(static_cast<std::int64_t>(std::llround(us)));
}

std::optional<std::uint64_t> ParseSize(std::string_view s) {
  double n = 0;
  std::string_view unit;
  if (!SplitNumber(s, n, unit)) return std::nullopt;
  double mult = 0;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KiB")
    mult = 1024.0;
  else if (unit == "MiB")
    mult = 1024.0 * 1024;
  else if (unit == "GiB")
    mult = 1024.0 * 1024 * 1024;
  else if (unit == "KB")
    mult = 1e3;
  else if (unit == "MB")
    mult = 1e6;
  else if (unit == "GB")
    mult = 1e9;
  else
    return std::nullopt;
  double bytes = n * mult;
  if (bytes > 9e18 || bytes != std::floor(bytes)) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

std::optional<Rate> ParseRate(std::string_view s) {
  std::size_t slash = s.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  double n = 0;
  std::string_view rest;
  if (!SplitNumber(s.substr(0, slash), n, rest) || !rest.empty() || n <= 0) return std::nullopt;
  std::string_view per = s.substr(slash + 1);
  std::chrono::microseconds period{0};
  if (per == "s" || per == "sec" || per == "second")
    period = std::chrono::seconds(1);
  else if (per == "m" || per == "min" || per == "minute")
    period = std::chrono::minutes(1);
  else if (per == "h" || per == "hour")
    period = std::chrono::hours(1);
  else if (per == "d" || per == "day")
    period = std::chrono::hours(24);
  else
    return std::nullopt;
  return Rate{n, period};
}

std::string FormatDuration(std::chrono::microseconds d) {
  auto us = d.count();
  if (us % 1000000 == 0) return std::to_string(us / 1000000) + "s";
  if (us % 1000 == 0) return std::to_string(us / 1000) + "ms";
  return std::to_string(us) + "us";
}

}  // namespace rampart
