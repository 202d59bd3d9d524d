#include "core/keyed_hash.h"

#include <cstring>

#include "core/hash.h"
#include "core/strings.h"

namespace rampart {
namespace {

// The secrets, drawn once per process.
struct Secrets {
  std::uint64_t a;
  std::uint64_t b;
};
const Secrets& ProcessSecrets() noexcept {
  static const Secrets keys{RandomSeed64(), RandomSeed64() | 1};
  return keys;
}

using detail::Load8;

std::uint64_t Load4(const char* p) noexcept {
  std::uint32_t w;
  std::memcpy(&w, p, 4);
  return w;
}

__extension__ typedef unsigned __int128 Uint128;

// The 128-bit product of a and b, its halves XORed.
std::uint64_t Fold(std::uint64_t a, std::uint64_t b) noexcept {
  const Uint128 r = static_cast<Uint128>(a) * b;
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

}  // namespace

// A hash of the string mixed with a seed afterwards would keep the unkeyed hash's full
// collisions; here each step folds a 64x64-bit product of 16 input bytes, each half XORed with
// a secret (wyhash's construction): no input word can zero an operand without knowing the
// keys, which a fixed constant would allow.
std::uint64_t KeyedHash(std::string_view key) noexcept {
  const Secrets& k = ProcessSecrets();
  const char* p = key.data();
  std::size_t n = key.size();
  std::uint64_t h = k.a ^ n;
  while (n > 16) {
    h = Fold(Load8(p) ^ k.b, Load8(p + 8) ^ h);
    p += 16;
    n -= 16;
  }
  // The last 1 to 16 bytes, as two words that overlap when fewer than 16 remain.
  std::uint64_t a = 0;
  std::uint64_t b = 0;
  if (n >= 8) {
    a = Load8(p);
    b = Load8(p + n - 8);
  } else if (n >= 4) {
    a = Load4(p);
    b = Load4(p + n - 4);
  } else if (n > 0) {
    const auto byte = [&](std::size_t i) {
      return std::uint64_t{static_cast<unsigned char>(p[i])};
    };
    a = (byte(0) << 16) | (byte(n / 2) << 8) | byte(n - 1);
  }
  return Fold(Fold(a ^ k.b, b ^ h) ^ k.a, key.size() ^ k.b);
}

}  // namespace rampart
