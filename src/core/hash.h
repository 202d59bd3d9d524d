// Hash building blocks shared by the tables that take keys from clients: MurmurHash3's 64-bit
// finaliser (a bijection with full avalanche) and a per-process random seed, so that a client
// cannot choose keys that collide without knowing the seed.
#pragma once

#include <cstdint>
#include <random>

namespace rampart {

constexpr std::uint64_t Fmix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

// 64 random bits from the system's entropy source (std::random_device gives 32 at a time).
inline std::uint64_t RandomSeed64() {
  std::random_device rd;
  return (std::uint64_t{rd()} << 32) ^ rd();
}

}  // namespace rampart
