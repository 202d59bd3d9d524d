#include "state/kv/fenced_value.h"

#include <charconv>

namespace rampart::state {

namespace {

constexpr std::uint64_t kBias = std::uint64_t{1} << 63;

// The digits of a fenced value, or empty when `stored` is not one.
std::string_view DigitsOf(std::string_view stored) noexcept {
  if (stored.size() <= kFenceDigits || stored[kFenceDigits] != '\n') return {};
  for (std::size_t i = 0; i < kFenceDigits; ++i) {
    if (stored[i] < '0' || stored[i] > '9') return {};
  }
  return stored.substr(0, kFenceDigits);
}

}  // namespace

std::string FenceDigits(std::int64_t token) {
  const std::uint64_t biased = static_cast<std::uint64_t>(token) + kBias;  // wraps: -2^63 -> 0
  std::string out(kFenceDigits, '0');
  std::uint64_t n = biased;
  for (std::size_t i = kFenceDigits; n != 0; n /= 10) out[--i] = static_cast<char>('0' + n % 10);
  return out;
}

bool FencedByNewer(std::string_view stored, std::string_view digits) noexcept {
  const std::string_view held = DigitsOf(stored);
  return !held.empty() && held > digits;
}

bool ParseFenced(std::string_view stored, std::int64_t& token, std::string_view& value) noexcept {
  const std::string_view digits = DigitsOf(stored);
  if (digits.empty()) return false;
  std::uint64_t biased = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), biased);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;  // over 2^64 - 1
  token = static_cast<std::int64_t>(biased - kBias);
  value = stored.substr(kFenceDigits + 1);
  return true;
}

}  // namespace rampart::state
