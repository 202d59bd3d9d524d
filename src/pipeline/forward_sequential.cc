// The upstream attempts, one direction at a time: the request (head, then the body as it
// arrives), then the response. Every protocol pair runs here except HTTP/2 on both sides, which
// moves both directions at once (forward_duplex.cc).
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "core/strings.h"
#include "http/grpc_timeout.h"
#include "pipeline/forwarder.h"
#include "pipeline/upstream_request.h"

namespace rampart {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using upstream::ResponseHead;
using upstream::Stream;
using upstream::StreamEnd;

asio::awaitable<void> Forwarder::Proxy() {
  const upstream::UpstreamSpec& up = *route_->upstream;
  http::UpstreamRequest& ur = st_.upstream_request;
  ur = MakeUpstreamRequest(*route_, ex_, env_.site, env_.client_ip, d_.received_protocol(),
                           st_.target);
  // The upstream request's framing is rampart's: the client's length, else the length of a body
  // held whole, else chunked.
  if (d_.has_body() && !ur.content_length) {
    if (body_complete_)
      ur.content_length = st_.body.size();
    else
      ur.chunked = true;
  }
  if (route_->config->websocket.enabled) ur.upgrade = d_.upgrade();
  upstream::Opener* opener = env_.opener;
  if (opener == nullptr) {
    st_.connector.emplace(env_.loop, env_.pools, env_.worker, d_.deadline(), st_.stream_buffers());
    opener = &*st_.connector;
  }
  attempts_ = &st_.attempts.emplace(up, *opener, env_.loop, env_.worker, env_.pools.http1,
                                    env_.pools.rr_position(up.name), env_.pools.rng, ex_.method,
                                    ex_.retry_safe, route_->config->name);
  if (route_->fallback_upstream != nullptr) attempts_->set_no_panic();
  if (up.hash) attempts_->set_hash(HashKey(up.hash_on));
  const SteadyTime deadline = Deadline();
  attempts_->set_deadline(deadline);
  d_.deadline().cap = deadline;
  st_.acct.upstream_name = up.name;
  st_.acct.upstream_start = env_.loop.now();
  Downstream::Duplex* dd = up.http2 ? d_.duplex() : nullptr;
  if (dd != nullptr) return Duplex(ur, *dd);
  return Sequential(ur);
}

asio::awaitable<void> Forwarder::Sequential(const http::UpstreamRequest& ur) {
  upstream::Attempts& attempts = *attempts_;
  std::string& body = st_.body;  // read from the client, not yet handed upstream
  d_.TakeBody(body);
  bool body_end = !d_.has_body() || d_.body_done() || body_complete_;
  // Every byte the upstream was sent is still in `body`: another attempt can send it all again.
  bool whole = true;
  bool continued = false;
  std::size_t forwarded = 0;  // body bytes the client's window got back
  ResponseHead head;
  std::string& piece = st_.resp_body;
  bool resp_end = false;
  Stream* s = nullptr;
  for (;;) {
    if (attempts.delay().count() > 0) {
      co_await Backoff();
      if (d_.gone()) {  // the client reset its stream while this one waited: send nothing
        co_await Fail(ExchangeError::Downstream(ErrorKind::kClientReset, http::Step::kSendHead));
        co_return;
      }
    }
    d_.deadline().fired =
        net::TimeoutKind::kNone;  // a timeout of the last attempt is not this one's
    ExchangeError e;
    if (!attempts.Begin(whole && body_end, e)) {        // no attempt may be made: nothing was sent
      if (attempts.waiting() || FallBack(e)) continue;  // a queue's wait, another upstream
      co_await Fail(e);
      co_return;
    }
    s = attempts.OpenNow(nullptr);  // the common case: a pooled connection, no frame
    if (s == nullptr) s = co_await attempts.Open(nullptr, e);
    d_.Watch(s);
    if (s == nullptr) {  // nothing of the request left: another attempt starts the same way
      if (attempts.Retry(0, e, whole) || FallBack(e)) continue;
      co_await Fail(e);
      co_return;
    }
    st_.acct.endpoint_key = attempts.endpoint()->key;
    if (!continued && !body_end && body.empty()) {
      // The origin never sees Expect: rampart answers it once the request may proceed.
      continued = true;
      if (!co_await d_.Continue()) {
        s->End(StreamEnd::kClose);
        co_await Fail(ExchangeError::Downstream(ErrorKind::kClientClosed, http::Step::kSendHead));
        co_return;
      }
    }
    e = co_await s->SendHead(ur, body, body_end);
    if (e) {
      s->End(StreamEnd::kClose);
      if (d_.gone()) {  // the client left and the send was cancelled: no outcome to report
        attempts.Finished({});
        co_await Fail(e);
        co_return;
      }
      if (attempts.Retry(0, e, whole && body_end)) continue;
      co_await Fail(e);
      co_return;
    }
    if (forwarded < body.size()) {
      d_.BodyForwarded(body.size() - forwarded);
      forwarded = body.size();
    }
    // The rest of the body, streamed as it arrives.
    if (!body_end) {
      body.clear();
      whole = false;
      while (!body_end) {
        e = co_await d_.ReadBody(body, body_end);
        if (e) {
          s->End(StreamEnd::kAbort);  // the origin sees an aborted request, never a short one
          attempts.Finished(e);
          co_await Fail(e);
          co_return;
        }
        if (body.empty() && !body_end) continue;
        e = co_await s->SendBody(body, body_end);
        if (e) break;  // the origin may have answered early and closed: read that answer
        d_.BodyForwarded(body.size());
        body.clear();
      }
    }
    piece.clear();
    resp_end = false;
    head = {};
    e = co_await s->ReadHead(head, piece, resp_end);
    if (e) {
      s->End(StreamEnd::kClose);
      if (d_.gone()) {  // the client left and the read was cancelled: no outcome to report
        attempts.Finished({});
        co_await Fail(e);
        co_return;
      }
      if (attempts.Retry(0, e, whole && body_end)) continue;
      co_await Fail(e);
      co_return;
    }
    if (attempts.Retry(head.status, {}, whole && body_end)) {
      s->End(StreamEnd::kClose);
      continue;
    }
    break;
  }
  body.clear();
  if (!body_end) d_.DiscardBody();  // the answer no longer depends on the rest of the body
  st_.acct.upstream_end = env_.loop.now();
  co_await Respond(*s, head, resp_end);
}

SteadyTime Forwarder::Deadline() const noexcept {
  const config::Route& r = *route_->config;
  std::chrono::microseconds budget =
      r.timeout.count() > 0 ? r.timeout : std::chrono::microseconds(std::chrono::hours(24 * 365));
  bool shortened = r.timeout.count() > 0;
  if (ex_.request_headers != nullptr) {
    std::chrono::microseconds asked{};
    // A gRPC call's own deadline (only for gRPC requests: another client cannot set it).
    if (IStartsWith(ex_.request_headers->Get("content-type"), "application/grpc") &&
        http::ParseGrpcTimeout(ex_.request_headers->Get("grpc-timeout"), asked) && asked < budget) {
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
      key = env_.client_ip;
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

asio::awaitable<void> Forwarder::Backoff() {
  asio::steady_timer t(env_.loop.io(), attempts_->delay());
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  env_.loop.RefreshNow();
}

asio::awaitable<void> Forwarder::Respond(Stream& s, ResponseHead& head, bool end) {
  upstream::Attempts& attempts = *attempts_;
  std::string& piece = st_.resp_body;
  ex_.status = head.status;
  ex_.response = {head.status, head.headers, {}, true};
  if (ran_ > 0) {
    Decision r = ResponseGates();
    if (r.kind == Decision::Kind::kAwait) r = co_await ResponseGatesAsync();
    if (!r.is_continue()) {
      s.End(StreamEnd::kClose);
      attempts.Finished({});
      co_await Answer(r);
      co_return;
    }
  }
  status_ = head.status;
  if (head.switching) {
    head_sent_ = true;
    const std::string_view why = co_await d_.Tunnel(s);
    s.End(StreamEnd::kClose);
    attempts.Finished({});
    Complete(101, why);
    co_return;
  }
  TapResponse(piece, end);
  head_sent_ = true;
  const http::HeaderList* trailers = end ? s.trailers() : nullptr;
  bool ok = co_await d_.SendHead(head, piece, end && trailers == nullptr);
  s.Consumed(piece.size());
  if (ok && trailers != nullptr) ok = co_await d_.SendBody({}, true, trailers);
  while (ok && !end) {
    piece.clear();
    ExchangeError e = co_await s.ReadBody(piece, end);
    if (e) {
      s.End(StreamEnd::kClose);
      // A client that reset the stream cancelled this read: not the origin's doing.
      attempts.Finished(d_.gone() ? ExchangeError{} : e);
      co_await Fail(e);
      co_return;
    }
    TapResponse(piece, end);
    if (piece.empty() && !end) continue;
    ok = co_await d_.SendBody(piece, end, end ? s.trailers() : nullptr);
    s.Consumed(piece.size());
  }
  piece.clear();
  d_.Watch(nullptr);
  s.End(ok ? StreamEnd::kComplete : StreamEnd::kClose);
  attempts.Finished({});
  if (!ok) {
    d_.Abort();
    Complete(head.status, d_.gone() ? std::string_view("client_reset")
                                    : std::string_view("client_write_failed"));
    co_return;
  }
  Complete(head.status, {});
}

}  // namespace rampart
