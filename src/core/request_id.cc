#include "core/request_id.h"

#include <cstdint>
#include <random>

namespace rampart {
namespace {

// xoshiro256** (public domain algorithm by Blackman and Vigna); seeded per thread from the OS.
class Xoshiro256 {
 public:
  Xoshiro256() {
    std::random_device rd;
    for (auto& s : s_) s = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
  }
  std::uint64_t Next() noexcept {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t Rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace

RequestId NewRequestId() noexcept {
  thread_local Xoshiro256 rng;
  static constexpr char kHex[] = "0123456789abcdef";
  std::uint64_t hi = rng.Next();
  std::uint64_t lo = rng.Next();
  // UUID version 4, variant 10xx.
  hi = (hi & ~0xF000ULL) | 0x4000ULL;
  lo = (lo & ~(0xC000000000000000ULL)) | 0x8000000000000000ULL;
  unsigned char bytes[16];
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<unsigned char>(hi >> (56 - 8 * i));
    bytes[8 + i] = static_cast<unsigned char>(lo >> (56 - 8 * i));
  }
  RequestId id;
  std::size_t pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id.text[pos++] = '-';
    id.text[pos++] = kHex[bytes[i] >> 4];
    id.text[pos++] = kHex[bytes[i] & 0xf];
  }
  return id;
}

bool IsAcceptableRequestId(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

}  // namespace rampart
