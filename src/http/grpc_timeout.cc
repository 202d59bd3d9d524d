#include "http/grpc_timeout.h"

#include <cstdint>

namespace rampart::http {

bool ParseGrpcTimeout(std::string_view v, std::chrono::microseconds& out) noexcept {
  if (v.size() < 2 || v.size() > 9) return false;
  std::uint64_t n = 0;
  for (char c : v.substr(0, v.size() - 1)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  switch (v.back()) {  // at most 99,999,999 of a unit: no overflow in microseconds
    case 'H':
      out = std::chrono::hours(n);
      return true;
    case 'M':
      out = std::chrono::minutes(n);
      return true;
    case 'S':
      out = std::chrono::seconds(n);
      return true;
    case 'm':
      out = std::chrono::milliseconds(n);
      return true;
    case 'u':
      out = std::chrono::microseconds(n);
      return true;
    case 'n':
      out = std::chrono::microseconds(n / 1000);
      return true;
    default:
      return false;
  }
}

}  // namespace rampart::http
