// The upstream attempts, one direction at a time: the request (head, then the body as it
// arrives), then the response. Every protocol pair runs here except HTTP/2 on both sides, which
// moves both directions at once (forward_duplex.cc).
#include "pipeline/forwarder.h"
#include "pipeline/upstream_request.h"

namespace rampart {

namespace {
// The longest body read to its end for the taps after the client left.
constexpr std::uint64_t kTapToEndMax = 16ull << 20;
}  // namespace

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
    for (;;) {  // interim (1xx) heads go to the client as they come, then the final one
      piece.clear();
      resp_end = false;
      head = {};
      e = co_await s->ReadHead(head, piece, resp_end);
      if (e || !head.interim) break;
      // Not in the loop's condition: GCC 12 evaluates a co_await on the right of && even when
      // the left is false.
      const bool sent = co_await ForwardInterim(*s, head);
      if (!sent) co_return;
    }
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
  std::size_t taken = piece.size();  // the downstream may take the buffer
  const bool whole = end && trailers == nullptr;
  const std::optional<bool> now = d_.SendHeadNow(head, piece, whole);
  bool ok = now ? *now : co_await d_.SendHead(head, piece, whole);
  s.Consumed(taken);
  if (ok && trailers != nullptr) {
    std::string none;
    ok = co_await d_.SendBody(none, true, trailers);
  }
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
    taken = piece.size();
    ok = co_await d_.SendBody(piece, end, end ? s.trailers() : nullptr);
    s.Consumed(taken);
  }
  // The client left mid-answer while gates tap it (a cache fill that other requests read as it
  // arrives): the rest of a bounded body is still read for them, under the upstream's deadlines.
  bool drained = false;
  if (!ok && !end && route_->taps_response && head.content_length &&
      *head.content_length <= kTapToEndMax) {
    while (!end) {
      piece.clear();
      if (co_await s.ReadBody(piece, end)) break;
      TapResponse(piece, end);
      s.Consumed(piece.size());
    }
    drained = end;
  }
  piece.clear();
  d_.Watch(nullptr);
  s.End(ok || drained ? StreamEnd::kComplete : StreamEnd::kClose);
  attempts.Finished({});
  if (!ok) {
    d_.Abort();
    Complete(head.status, d_.gone() ? d_.gone_reason() : std::string_view("client_write_failed"));
    co_return;
  }
  Complete(head.status, {});
}

}  // namespace rampart
