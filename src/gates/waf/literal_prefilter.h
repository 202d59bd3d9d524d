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

namespace rampart::waf {

// Lower-case ASCII literals, one of which every match of `pattern` contains; nullopt when the
// pattern can match without any (`\d+`, `.*`) or holds syntax the analysis does not follow.
std::optional<std::vector<std::string>> RequiredLiterals(std::string_view pattern);

// The bytes and adjacent byte pairs of a text, case-folded; pairs hashed into 512 bits, so that
// the union of a few dozen values' signatures still tells literals apart.
struct Signature {
  std::array<std::uint64_t, 4> bytes{};
  std::array<std::uint64_t, 8> pairs{};

  static Signature Of(std::string_view text) noexcept;
  // Whether every byte and pair of `part` is in this one.
  bool Covers(const Signature& part) const noexcept {
    std::uint64_t missing = 0;
    for (std::size_t i = 0; i < 4; ++i) missing |= part.bytes[i] & ~bytes[i];
    for (std::size_t i = 0; i < 8; ++i) missing |= part.pairs[i] & ~pairs[i];
    return missing == 0;
  }
  // Adds another text's bytes and pairs: the union covers every literal either one holds.
  Signature& operator|=(const Signature& o) noexcept {
    for (std::size_t i = 0; i < 4; ++i) bytes[i] |= o.bytes[i];
    for (std::size_t i = 0; i < 8; ++i) pairs[i] |= o.pairs[i];
    return *this;
  }
};

// A rule's prefilter: the signatures of its required literals.
class LiteralPrefilter {
 public:
  // Null when the pattern gives no literals worth testing.
  static std::optional<LiteralPrefilter> For(std::string_view pattern);

  // False only when no match of the pattern can be in the text `value` signs.
  bool MayMatch(const Signature& value) const noexcept {
    for (const auto& l : literals_) {
      if (value.Covers(l)) return true;
    }
    return false;
  }
  std::size_t size() const noexcept { return literals_.size(); }

 private:
  std::vector<Signature> literals_;
};

}  // namespace rampart::waf
