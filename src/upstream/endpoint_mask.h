// Which endpoints of an upstream an attempt may go to: those that are healthy (and, for a retry
// that must go elsewhere, not tried yet). Inline for up to 64 endpoints, no allocation.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace rampart::upstream {

class EndpointMask {
 public:
  // Every one of `n` endpoints allowed (or none).
  explicit EndpointMask(std::size_t n, bool all = true) : n_(n) {
    if (n > 64) [[unlikely]] {
      FillBig(all);
      return;
    }
    if (all) small_ = n == 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << n) - 1;
  }
  std::size_t size() const noexcept { return n_; }
  bool test(std::size_t i) const noexcept {
    return n_ <= 64 ? (small_ >> i) & 1 : (big_[i / 64] >> (i % 64)) & 1;
  }
  void reset(std::size_t i) noexcept {
    if (n_ <= 64)
      small_ &= ~(std::uint64_t{1} << i);
    else
      big_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
  }
  std::size_t count() const noexcept {
    if (n_ <= 64) return static_cast<std::size_t>(std::popcount(small_));
    std::size_t c = 0;
    for (auto w : big_) c += static_cast<std::size_t>(std::popcount(w));
    return c;
  }
  bool all() const noexcept { return count() == n_; }
  bool none() const noexcept { return count() == 0; }
  // The k-th allowed endpoint (0-based), k < count().
  std::size_t nth(std::size_t k) const noexcept {
    for (std::size_t i = 0; i < n_; ++i) {
      if (test(i) && k-- == 0) return i;
    }
    return 0;
  }

 private:
  // More than 64 endpoints (out of line: every exchange builds a mask, few upstreams are so big).
  [[gnu::cold, gnu::noinline]] void FillBig(bool all) {
    big_.assign((n_ + 63) / 64, all ? ~std::uint64_t{0} : 0);
    if (all && n_ % 64) big_.back() = (std::uint64_t{1} << (n_ % 64)) - 1;
  }

  std::size_t n_;
  std::uint64_t small_ = 0;
  std::vector<std::uint64_t> big_;
};

}  // namespace rampart::upstream
