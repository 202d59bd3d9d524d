#include "http/range_header.h"

#include <algorithm>
#include <array>
#include <charconv>

#include "core/strings.h"

namespace rampart::http {

namespace {

struct Interval {
  std::uint64_t first;
  std::uint64_t last;  // UINT64_MAX: to the end
};

constexpr std::uint64_t kEnd = UINT64_MAX;

std::string_view Trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool Number(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty()) return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

RangeVerdict JudgeRange(std::string_view value, std::uint32_t max_ranges) noexcept {
  max_ranges = std::min(max_ranges, kMaxJudgedRanges);  // every range kept is judged for overlap
  value = Trim(value);
  const auto eq = value.find('=');
  if (eq == std::string_view::npos || !IEquals(Trim(value.substr(0, eq)), "bytes")) {
    return RangeVerdict::kFine;
  }
  std::array<Interval, kMaxJudgedRanges> closed{};  // closed ranges and open ones (`first-`)
  std::size_t n_closed = 0;
  std::size_t ranges = 0;
  std::size_t to_end = 0;  // ranges that reach the end: `first-` and `-suffix`
  std::string_view rest = value.substr(eq + 1);
  while (true) {
    const auto comma = rest.find(',');
    const std::string_view spec = Trim(rest.substr(0, comma));
    if (!spec.empty()) {  // RFC 9110 allows empty list elements
      if (++ranges > max_ranges) return RangeVerdict::kTooMany;
      const auto dash = spec.find('-');
      std::uint64_t first = 0, last = 0;
      if (dash != std::string_view::npos) {
        const std::string_view a = Trim(spec.substr(0, dash));
        const std::string_view b = Trim(spec.substr(dash + 1));
        if (a.empty()) {
          if (Number(b, last)) ++to_end;  // `-suffix`
        } else if (Number(a, first)) {
          if (b.empty()) {
            ++to_end;
            if (n_closed < kMaxJudgedRanges) closed[n_closed++] = {first, kEnd};
          } else if (Number(b, last) && last >= first && n_closed < kMaxJudgedRanges) {
            closed[n_closed++] = {first, last};
          }
        }
      }
      if (to_end > 1) return RangeVerdict::kOverlapping;
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  std::sort(closed.begin(), closed.begin() + static_cast<std::ptrdiff_t>(n_closed),
            [](const Interval& x, const Interval& y) { return x.first < y.first; });
  for (std::size_t i = 1; i < n_closed; ++i) {
    if (closed[i].first <= closed[i - 1].last) return RangeVerdict::kOverlapping;
  }
  return RangeVerdict::kFine;
}

}  // namespace rampart::http
