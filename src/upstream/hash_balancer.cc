#include "upstream/hash_balancer.h"

#include <algorithm>
#include <string>

#include "core/hash.h"

namespace rampart::upstream {

namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

std::uint64_t HashWithSeed(std::string_view key, std::uint64_t seed) noexcept {
  std::uint64_t h = kFnvOffset ^ seed;
  for (unsigned char c : key) {
    h ^= c;
    h *= kFnvPrime;
  }
  return Fmix64(h);  // FNV alone spreads short, similar keys poorly
}

constexpr std::uint32_t kPointsPerWeight = 160;
constexpr std::size_t kMaglevSize = 65537;  // prime; >= 100 x endpoints for up to 655

}  // namespace

std::uint64_t HashBalancer::Hash(std::string_view key) noexcept { return HashWithSeed(key, 0); }

HashBalancer::HashBalancer(Kind kind, const std::vector<std::string_view>& names,
                           const std::vector<std::uint32_t>& weights)
    : kind_(kind), endpoints_(names.size()) {
  if (names.empty()) return;
  if (kind == Kind::kRing) {
    for (std::uint32_t e = 0; e < names.size(); ++e) {
      const std::uint32_t points = kPointsPerWeight * std::max<std::uint32_t>(weights[e], 1);
      std::string label(names[e]);
      label += '#';
      const std::size_t base = label.size();
      for (std::uint32_t i = 0; i < points; ++i) {
        label.resize(base);
        label += std::to_string(i);
        ring_.push_back({HashWithSeed(label, 1), e});
      }
    }
    std::sort(ring_.begin(), ring_.end(), [](const Point& a, const Point& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.endpoint < b.endpoint;
    });
    return;
  }
  // Maglev: each endpoint's preference list is offset + j * skip (mod M); endpoints take turns
  // (an endpoint of weight w takes w slots per round) claiming their next free preferred slot.
  const std::size_t m = kMaglevSize;
  const std::size_t n = names.size();
  std::vector<std::uint64_t> offset(n), skip(n), next(n, 0);
  for (std::size_t e = 0; e < n; ++e) {
    offset[e] = HashWithSeed(names[e], 2) % m;
    skip[e] = HashWithSeed(names[e], 3) % (m - 1) + 1;
  }
  table_.assign(m, static_cast<std::uint32_t>(-1));
  std::size_t filled = 0;
  while (filled < m) {
    for (std::size_t e = 0; e < n && filled < m; ++e) {
      for (std::uint32_t turn = 0; turn < std::max<std::uint32_t>(weights[e], 1) && filled < m;
           ++turn) {
        std::size_t slot = (offset[e] + next[e] * skip[e]) % m;
        while (table_[slot] != static_cast<std::uint32_t>(-1)) {
          ++next[e];
          slot = (offset[e] + next[e] * skip[e]) % m;
        }
        table_[slot] = static_cast<std::uint32_t>(e);
        ++next[e];
        ++filled;
      }
    }
  }
}

std::size_t HashBalancer::Pick(std::uint64_t hash, const EndpointMask& allowed) const noexcept {
  if (allowed.none() || endpoints_ == 0) return kNone;
  if (kind_ == Kind::kRing) {
    auto it = std::lower_bound(ring_.begin(), ring_.end(), hash,
                               [](const Point& p, std::uint64_t h) { return p.hash < h; });
    for (std::size_t step = 0; step < ring_.size(); ++step, ++it) {
      if (it == ring_.end()) it = ring_.begin();
      if (allowed.test(it->endpoint)) return it->endpoint;
    }
    return kNone;
  }
  std::size_t slot = hash % table_.size();
  for (std::size_t step = 0; step < table_.size(); ++step) {
    const std::uint32_t e = table_[slot];
    if (allowed.test(e)) return e;
    slot = slot + 1 == table_.size() ? 0 : slot + 1;
  }
  return kNone;
}

}  // namespace rampart::upstream
