// A cheap proof that an @rx pattern cannot match a value, so PCRE2 need not run.
//
// From the pattern, RequiredLiterals works out a short list of literals such that every match
// contains at least one of them (case-folded: "union select" for `(?i)union\s*?select` would be
// two, "union" and "select", of which it keeps the stronger). A value's Signature records which
// bytes and which pairs of adjacent bytes it holds (case-folded, hashed into 256 bits each).
// A literal can occur in the value only if all its bytes and pairs are in the signature; when
// none of the rule's literals can, the pattern cannot match, and the rule's answer is "no match"
// without running it. When the signature admits a literal, PCRE2 runs as before, so the prefilter
// changes how fast an answer comes, never the answer.
//
// The analysis understands the PCRE2 syntax CRS uses (groups, alternation, classes, quantifiers,
// escapes, lookarounds, inline flags); a construct it does not understand makes it give up on
// the whole pattern (the rule then always runs PCRE2), never guess. Every CRS v4 pattern is
// checked against CRS's own test payloads (literal_prefilter_test.cc).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/required_literals.h"

namespace rampart::waf {

// The bytes and adjacent byte pairs of a text, case-folded: bits 0-255 the bytes, 256-767 the
// pairs hashed, so that the union of a few dozen values' signatures still tells literals apart.
struct Signature {
  static constexpr std::size_t kWords = 12;
  std::array<std::uint64_t, kWords> words{};

  static Signature Of(std::string_view text) noexcept;
  bool Has(std::uint16_t bit) const noexcept { return (words[bit >> 6] >> (bit & 63)) & 1; }
  // Whether every byte and pair of `part` is in this one.
  bool Covers(const Signature& part) const noexcept {
    std::uint64_t missing = 0;
    for (std::size_t i = 0; i < kWords; ++i) missing |= part.words[i] & ~words[i];
    return missing == 0;
  }
  // Adds another text's bytes and pairs: the union covers every literal either one holds.
  Signature& operator|=(const Signature& o) noexcept {
    for (std::size_t i = 0; i < kWords; ++i) words[i] |= o.words[i];
    return *this;
  }
};

// A rule's prefilter: for each required literal, the signature bits it needs.
class LiteralPrefilter {
 public:
  // Above this many literals, testing each value costs more than the operator: the prefilter
  // then only tests the union of a group of values (see per_value).
  static constexpr std::size_t kPerValueLiterals = 24;

  // For an @rx pattern; nullopt when it gives no literals worth testing.
  static std::optional<LiteralPrefilter> For(std::string_view pattern);
  // For phrases (@pm, @pmFromFile), one of which is in every matching value (case-insensitive).
  static std::optional<LiteralPrefilter> ForPhrases(const std::vector<std::string>& phrases);

  // False only when no match can be in the text (or texts) `value` signs.
  bool MayMatch(const Signature& value) const noexcept {
    if (walked_ != 0) {
      // Few buckets: each first bit is tested on the value, and nothing else is read unless the
      // value has it (the prefilter's own cache lines are few: most tests rule a rule out).
      for (std::size_t i = 0; i < walked_; ++i) {
        if (value.Has(walk_bits_[i]) && BucketMatches(walk_at_[i], value)) return true;
      }
      return false;
    }
    // Many: only the buckets whose first bit the value has, through the bitmap of first bits.
    for (std::size_t w = 0; w < Signature::kWords; ++w) {
      std::uint64_t common = value.words[w] & first_bits_.words[w];
      while (common != 0) {
        const auto bit = static_cast<std::uint16_t>(w * 64 + __builtin_ctzll(common));
        common &= common - 1;
        if (BucketMatches(bucket_at_[bit], value)) return true;
      }
    }
    return false;
  }
  bool per_value() const noexcept { return literals_ <= kPerValueLiterals; }
  std::size_t size() const noexcept { return literals_; }

 private:
  // Only Of makes one: an empty prefilter would answer "no match" to everything.
  LiteralPrefilter() = default;
  static std::optional<LiteralPrefilter> Of(const std::vector<std::string>& literals);
  // Literals are grouped by the bit they need first (the rarest-looking one), so that a
  // signature lacking it skips them all at once. A bucket is one run of `flat_`: its number of
  // literals, then each literal's number of other bits and those bits; a test reads one run
  // front to back instead of gathering from several arrays (fewer cache lines per test).
  bool BucketMatches(std::uint32_t at, const Signature& value) const noexcept {
    const std::uint16_t* p = flat_.data() + at;
    for (std::uint16_t count = *p++; count > 0; --count) {
      const std::uint16_t* end = p + 1 + *p;
      ++p;
      while (p < end && value.Has(*p)) ++p;
      if (p == end) return true;
      p = end;
    }
    return false;
  }
  // With at most kWalked buckets: their first bits and where their runs are, in the object
  // itself. Fields in the order a test reads them: the first bits and the runs' address (in
  // Rule's second cache line), then where each bucket's run starts.
  static constexpr std::size_t kWalked = 12;
  std::uint32_t walked_ = 0;
  std::array<std::uint16_t, kWalked> walk_bits_{};
  std::vector<std::uint16_t> flat_;
  std::array<std::uint32_t, kWalked> walk_at_{};
  std::size_t literals_ = 0;
  // With more (walked_ 0): every bucket's first bit, and each first bit's run.
  Signature first_bits_;
  std::vector<std::uint32_t> bucket_at_;
};

}  // namespace rampart::waf
