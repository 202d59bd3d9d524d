// What the driver decides around the upstream attempts, for both transfer loops
// (forward_sequential.cc, forward_duplex.cc): the exchange's deadline, the consistent-hashing
// key, the move to the route's fallback upstream, the wait a policy asked for, and an interim
// head on its way to the client.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "core/strings.h"
#include "http/grpc_timeout.h"
#include "pipeline/forwarder.h"

namespace rampart {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;

SteadyTime Forwarder::Deadline() const noexcept {
  const config::Route& r = *route_->config;
  std::chrono::microseconds budget =
      r.timeout.count() > 0 ? r.timeout : std::chrono::microseconds(std::chrono::hours(24 * 365));
  bool shortened = r.timeout.count() > 0;
  if (ex_.request_headers != nullptr) {
    std::chrono::microseconds asked{};
    // A gRPC call's own deadline (only for gRPC requests: another client cannot set it). The
    // rare header first: most requests scan the fields once.
    const std::string_view grpc = ex_.request_headers->Get("grpc-timeout");
    if (!grpc.empty() && http::ParseGrpcTimeout(grpc, asked) && asked < budget &&
        IStartsWith(ex_.request_headers->Get("content-type"), "application/grpc")) {
      budget = asked;
      shortened = true;
    }
    if (!r.timeout_header.empty()) {
      std::uint64_t ms = 0;
      const std::string_view v = ex_.request_headers->Get(r.timeout_header);
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), ms);
      if (!v.empty() && ec == std::errc() && end == v.data() + v.size() && ms < 86'400'000 &&
          std::chrono::milliseconds(ms) < budget) {
        budget = std::chrono::milliseconds(ms);
        shortened = true;
      }
    }
  }
  return shortened ? ex_.start + budget : SteadyTime::max();
}

std::uint64_t Forwarder::HashKey(const config::HashOn& on) const noexcept {
  std::string_view key;
  switch (on.kind) {
    case config::HashOn::Kind::kHeader:
      if (ex_.request_headers != nullptr) key = ex_.request_headers->Get(on.name);
      break;
    case config::HashOn::Kind::kCookie:
      if (ex_.request_headers != nullptr) {
        // Every Cookie field (HTTP/2 may split them), each `a=1; b=2`.
        for (const auto& f : *ex_.request_headers) {
          if (!IEquals(f.name, "cookie") || !key.empty()) continue;
          ForEachPair(f.value, ';', [&](std::string_view name, std::string_view value) {
            if (name != on.name) return true;
            key = value;
            return false;
          });
        }
      }
      break;
    case config::HashOn::Kind::kClientAddress:
      key = st_.client_ip.empty() ? env_.client_ip : std::string_view(st_.client_ip);
      break;
    case config::HashOn::Kind::kPath:
      key = ex_.path;
      break;
    case config::HashOn::Kind::kNone:
      break;
  }
  // No key (the header or cookie is absent): a random endpoint, as Envoy does.
  return key.empty() ? env_.pools.rng() : upstream::HashBalancer::Hash(key);
}

bool Forwarder::FallBack(const ExchangeError& e) {
  const upstream::UpstreamSpec* other = route_->fallback_upstream;
  if (other == nullptr || fell_back_ || attempts_->request_sent() || e.request_sent) return false;
  switch (e.kind) {
    case ErrorKind::kCircuitOpen:
    case ErrorKind::kNoEndpoint:
    case ErrorKind::kBulkheadFull:
    case ErrorKind::kConcurrencyLimited:
    case ErrorKind::kConnectRefused:
    case ErrorKind::kConnectTimeout:
    case ErrorKind::kTls:
      break;
    default:
      return false;  // a deadline that passed, a failure after the request left
  }
  fell_back_ = true;
  attempts_->Restart(*other);
  st_.acct.upstream_name = other->name;
  ex_.response_headers += "X-Rampart-Fallback: upstream\r\n";
  return true;
}

asio::awaitable<bool> Forwarder::ForwardInterim(upstream::Stream& s,
                                                const upstream::ResponseHead& head) {
  // Through a local: `if (co_await ...) co_return true;` crashed here (GCC 12).
  const bool sent = co_await d_.SendInterim(head);
  if (sent) co_return true;
  s.End(upstream::StreamEnd::kClose);  // the client went away as the head was sent to it
  attempts_->Finished({});
  co_await Fail(ExchangeError::Downstream(ErrorKind::kClientClosed, http::Step::kSendHead));
  co_return false;
}

asio::awaitable<void> Forwarder::Backoff() {
  asio::steady_timer t(env_.loop.io(), attempts_->delay());
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  env_.loop.RefreshNow();
}

}  // namespace rampart
