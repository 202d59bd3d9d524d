// The stored form of a fenced write (KvStore::SetFenced), the same in process and on Redis:
// "<20 digits>\n<value>", the digits being the token plus 2^63 written with leading zeros, so
// that comparing two tokens' digits as strings orders them as numbers for every int64 (the
// Redis script compares them without Lua's doubles losing precision). A stored value of another
// shape (a plain Set under the same key) holds no token: a fenced write replaces it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace rampart::state {

inline constexpr std::size_t kFenceDigits = 20;

// The token's 20 digits.
std::string FenceDigits(std::int64_t token);
// True when `stored` is a fenced value whose token is larger than the one `digits` spell.
bool FencedByNewer(std::string_view stored, std::string_view digits) noexcept;
// Splits a fenced value into its token and value: false when `stored` is not one.
bool ParseFenced(std::string_view stored, std::int64_t& token, std::string_view& value) noexcept;

}  // namespace rampart::state
