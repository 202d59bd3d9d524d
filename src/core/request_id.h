// Request ids: random, 128 bits, formatted as a UUID v4. Per-thread generator, no locks.
#pragma once

#include <array>
#include <string_view>

namespace rampart {

struct RequestId {
  std::array<char, 36> text;
  std::string_view view() const noexcept { return {text.data(), text.size()}; }
};

RequestId NewRequestId() noexcept;

// True when a client-supplied id is safe to keep and log: 1..128 chars of [A-Za-z0-9._:-].
bool IsAcceptableRequestId(std::string_view id) noexcept;

}  // namespace rampart
