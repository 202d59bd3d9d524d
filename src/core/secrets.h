// Small helpers for secrets rampart keeps or hands out (API keys, session ids): SHA-256, hex,
// random tokens from OpenSSL's CSPRNG, and a constant-time comparison.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rampart {

using Sha256Digest = std::array<unsigned char, 32>;

Sha256Digest Sha256(std::string_view data) noexcept;
std::string Hex(const unsigned char* data, std::size_t size);
inline std::string Hex(const Sha256Digest& d) { return Hex(d.data(), d.size()); }
// 64 hex digits (either case) into `out`; false otherwise.
bool ParseSha256Hex(std::string_view hex, Sha256Digest& out) noexcept;
// `bytes` random bytes (RAND_bytes), base64url-encoded; empty if the CSPRNG failed.
std::string RandomToken(std::size_t bytes);
bool ConstantTimeEquals(std::string_view a, std::string_view b) noexcept;

}  // namespace rampart
