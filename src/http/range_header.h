// Range header abuse (RFC 9110 section 14.2: a server "ought to ignore, coalesce, or reject"
// requests for many ranges or overlapping ones; CVE-2011-3192 is what such a request did to
// Apache). Judged from the header alone, before anything reaches the origin: how many ranges
// the byte-range set asks for, and whether two of them overlap.
#pragma once

#include <cstdint>
#include <string_view>

namespace rampart::http {

enum class RangeVerdict : std::uint8_t {
  kFine,         // no Range, a single range, or a few that do not overlap (or not `bytes`)
  kTooMany,      // more ranges than allowed
  kOverlapping,  // two ranges share a byte (whatever the representation's length)
};

// `value`: the Range field's value. Ranges of another unit are not judged (kFine). Overlap is
// decided where it does not depend on the representation's length: two closed ranges, a closed
// range and an open one (`500-`), or two that reach the end (`500-`, `-100`).
// `max_ranges` above kMaxJudgedRanges counts as kMaxJudgedRanges.
inline constexpr std::uint32_t kMaxJudgedRanges = 64;
RangeVerdict JudgeRange(std::string_view value, std::uint32_t max_ranges) noexcept;

}  // namespace rampart::http
