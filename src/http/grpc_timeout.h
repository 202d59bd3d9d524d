// The gRPC `grpc-timeout` request header (gRPC over HTTP/2 protocol spec): at most 8 ASCII
// digits and a unit, H (hours), M (minutes), S (seconds), m (milliseconds), u (microseconds) or
// n (nanoseconds). A client's deadline for its call: rampart may end the exchange sooner, never
// later than the route allows.
#pragma once

#include <chrono>
#include <string_view>

namespace rampart::http {

// False when `v` is not a valid grpc-timeout (absent, too long, no unit, not digits).
bool ParseGrpcTimeout(std::string_view v, std::chrono::microseconds& out) noexcept;

}  // namespace rampart::http
