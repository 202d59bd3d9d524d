// Method properties from RFC 9110: safe (section 9.2.1: read-only by definition) and idempotent
// (section 9.2.2: sending it twice has the effect of sending it once). Retries ask the second; a
// stand-in answer after the origin may have acted asks the first.
#pragma once

#include <string_view>

namespace rampart::http {

constexpr bool IsSafeMethod(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE";
}

constexpr bool IsIdempotentMethod(std::string_view m) noexcept {
  return IsSafeMethod(m) || m == "PUT" || m == "DELETE";
}

}  // namespace rampart::http
