// What gates and upstream policies may use besides their settings: the control thread's
// executor for background work off the request path (a JWKS refresh, a health prober), and the
// outbound HTTP client, which runs there.
#pragma once

#include <boost/asio/any_io_executor.hpp>

namespace rampart {

namespace upstream {
class HttpClient;
}
namespace gates {
class ConnectionLimiters;
class Blackhole;
}  // namespace gates

struct Services {
  boost::asio::any_io_executor control;
  upstream::HttpClient* client = nullptr;
  // Listeners' connection counts, kept across reloads (null: a limiter per build, for checks).
  gates::ConnectionLimiters* connection_limiters = nullptr;
  // Repeat offenders, one table for the process (null: none kept, for checks).
  gates::Blackhole* blackhole = nullptr;
};

}  // namespace rampart
