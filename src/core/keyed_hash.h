// A keyed hash for tables whose keys come from clients (cache keys, a WAF request's TX names):
// two per-process random words enter every step, so a client cannot pick keys that share a
// bucket without knowing them.
#pragma once

#include <cstdint>
#include <string_view>

namespace rampart {

std::uint64_t KeyedHash(std::string_view key) noexcept;

}  // namespace rampart
