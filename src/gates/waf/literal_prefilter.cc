#include "gates/waf/literal_prefilter.h"

#include <algorithm>

#include "core/strings.h"

namespace rampart::waf {
namespace {

std::uint16_t PairBit(unsigned char a, unsigned char b) {
  return static_cast<std::uint16_t>(256 + (((a * 0x9E3779B1u) ^ (b * 0x85EBCA77u)) >> 23));
}

}  // namespace

Signature Signature::Of(std::string_view text) noexcept {
  Signature s;
  unsigned char prev = 0;
  bool has_prev = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(AsciiLower(ch));
    s.words[c >> 6] |= std::uint64_t{1} << (c & 63);
    if (has_prev) {
      const std::uint16_t p = PairBit(prev, c);
      s.words[p >> 6] |= std::uint64_t{1} << (p & 63);
    }
    prev = c;
    has_prev = true;
  }
  return s;
}

std::optional<LiteralPrefilter> LiteralPrefilter::Of(const std::vector<std::string>& literals) {
  if (literals.empty()) return std::nullopt;
  // Each literal's bits, rarest-looking first: bytes other than letters and digits (rare in
  // ordinary text), then pairs. Letters and digits alone are nearly always there: a literal of
  // two bytes or more is tested by its pairs instead.
  std::vector<std::vector<std::uint16_t>> all;
  for (const auto& l : literals) {
    if (l.empty()) return std::nullopt;  // a match may hold nothing: no filter
    std::vector<std::uint16_t> bits;
    auto add = [&](std::uint16_t b) {
      if (std::find(bits.begin(), bits.end(), b) == bits.end()) bits.push_back(b);
    };
    for (char ch : l) {
      const auto c = static_cast<unsigned char>(ch);
      if (!IsFoldedAlnum(c) || l.size() == 1) add(c);
    }
    for (std::size_t i = 1; i < l.size(); ++i) {
      add(PairBit(static_cast<unsigned char>(l[i - 1]), static_cast<unsigned char>(l[i])));
    }
    all.push_back(std::move(bits));
  }
  std::stable_sort(all.begin(), all.end(),
                   [](const auto& a, const auto& b) { return a.front() < b.front(); });
  LiteralPrefilter f;
  f.literals_ = all.size();
  // Buckets as (first bit, run in flat_), in first-bit order.
  std::vector<std::pair<std::uint16_t, std::uint32_t>> buckets;
  std::size_t count_at = 0;  // the running bucket's count in flat_
  for (const auto& bits : all) {
    const std::uint16_t first = bits.front();
    if (buckets.empty() || buckets.back().first != first) {
      count_at = f.flat_.size();
      buckets.emplace_back(first, static_cast<std::uint32_t>(count_at));
      f.flat_.push_back(0);
    }
    // Runs count in 16 bits: a literal or bucket past that gives no prefilter (never a wrong one).
    if (f.flat_[count_at] == UINT16_MAX || bits.size() > UINT16_MAX) return std::nullopt;
    ++f.flat_[count_at];
    f.flat_.push_back(static_cast<std::uint16_t>(bits.size() - 1));
    f.flat_.insert(f.flat_.end(), bits.begin() + 1, bits.end());
  }
  if (f.flat_.size() > UINT32_MAX) return std::nullopt;
  if (buckets.size() <= kWalked) {
    f.walked_ = static_cast<std::uint32_t>(buckets.size());
    for (std::size_t i = 0; i < buckets.size(); ++i) {
      f.walk_bits_[i] = buckets[i].first;
      f.walk_at_[i] = buckets[i].second;
    }
  } else {
    f.bucket_at_.assign(Signature::kWords * 64, 0);
    for (const auto& [bit, at] : buckets) {
      f.bucket_at_[bit] = at;
      f.first_bits_.words[bit >> 6] |= std::uint64_t{1} << (bit & 63);
    }
  }
  return f;
}

std::optional<LiteralPrefilter> LiteralPrefilter::For(std::string_view pattern) {
  auto literals = RequiredLiterals(pattern);
  if (!literals) return std::nullopt;
  return Of(*literals);
}

std::optional<LiteralPrefilter> LiteralPrefilter::ForPhrases(
    const std::vector<std::string>& phrases) {
  std::vector<std::string> folded;
  folded.reserve(phrases.size());
  for (const auto& p : phrases) {
    std::string f;
    for (char c : p) f.push_back(AsciiLower(c));
    folded.push_back(std::move(f));
  }
  return Of(folded);
}

}  // namespace rampart::waf
