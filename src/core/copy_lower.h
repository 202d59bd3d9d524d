// Copying a name with its ASCII capitals lowered, eight bytes at a time (detail::Lower8): for the
// hot paths that lower a field name or an authority per request.
#pragma once

#include <cstring>
#include <string_view>

#include "core/strings.h"

namespace rampart {

// `in` with its ASCII capitals lowered, written to `out` (in.size() bytes; other bytes kept).
inline void CopyLower(char* out, std::string_view in) noexcept {
  const std::size_t n = in.size();
  if (n < 8) {
    for (std::size_t i = 0; i < n; ++i) out[i] = AsciiLower(in[i]);
    return;
  }
  const auto lower8 = [&](std::size_t at) {
    const std::uint64_t w = detail::Lower8(detail::Load8(in.data() + at));
    std::memcpy(out + at, &w, 8);
  };
  for (std::size_t at = 0; at + 8 < n; at += 8) lower8(at);
  lower8(n - 8);  // the last eight, overlapping what came before
}

}  // namespace rampart
