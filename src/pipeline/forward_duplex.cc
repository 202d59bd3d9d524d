// HTTP/2 on both sides: one loop moves the request body and the response as each becomes
// possible, so a response can stream while the request body still flows (gRPC's bidirectional
// calls). Both sides wake the same timer (the client stream's), so one wait covers both.
#include "pipeline/forwarder.h"

namespace rampart {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using net::TimeoutKind;
using upstream::ResponseHead;
using upstream::Stream;
using upstream::StreamEnd;

asio::awaitable<void> Forwarder::Duplex(const http::UpstreamRequest& ur, Downstream::Duplex& dd) {
  upstream::Attempts& attempts = *attempts_;
  net::Deadline& dl = d_.deadline();
  // The whole body is here (or there is none): kept until the head, so that a stream the origin
  // refused is sent once more.
  std::string& in = dd.body_in();
  if (!st_.body.empty()) {  // held by the body phase: it goes first
    st_.body.append(in);
    in.swap(st_.body);
    st_.body.clear();
  }
  const bool replayable = dd.request_ended();
  Stream* s = nullptr;
  ResponseHead head;
  for (;;) {  // attempts
    if (attempts.delay().count() > 0) {
      co_await Backoff();
      if (d_.gone()) {
        Complete(0, d_.gone_reason());
        co_return;
      }
    }
    ExchangeError e;
    if (!attempts.Begin(replayable, e)) {               // no attempt may be made: nothing was sent
      if (attempts.waiting() || FallBack(e)) continue;  // a queue's wait, another upstream
      co_await Fail(e);
      co_return;
    }
    s = attempts.OpenNow(dd.wake());
    if (s == nullptr) s = co_await attempts.Open(dd.wake(), e);
    d_.Watch(s);
    if (d_.gone()) {
      if (s) s->End(StreamEnd::kAbort);
      Complete(0, d_.gone_reason());
      co_return;
    }
    if (s == nullptr) {  // nothing of the request left: another attempt starts the same way
      if (attempts.Retry(0, e, true) || FallBack(e)) continue;
      co_await Fail(e);
      co_return;
    }
    st_.acct.endpoint_key = attempts.endpoint()->key;
    e = co_await s->SendHead(ur, replayable ? std::string_view(in) : std::string_view(),
                             replayable);
    if (e) {
      s->End(StreamEnd::kClose);
      if (attempts.Retry(0, e, replayable)) continue;
      co_await Fail(e);
      co_return;
    }
    Stream::Duplex& us = *s->duplex();
    bool request_done = replayable;
    bool retry = false;
    dl.fired = TimeoutKind::kNone;
    for (;;) {
      if (d_.gone()) {
        s->End(StreamEnd::kAbort);
        attempts.Finished({});
        Complete(head_sent_ ? status_ : 0, d_.gone_reason());
        co_return;
      }
      if (dl.fired == TimeoutKind::kBody) {
        s->End(StreamEnd::kAbort);
        co_await Fail(
            ExchangeError::Downstream(ErrorKind::kRequestTimeout, http::Step::kReadRequestBody));
        co_return;
      }
      // Request body, as the client's DATA arrives and the origin's window takes it.
      if (!request_done && !us.failure()) {
        if (dd.body_too_large()) {
          s->End(StreamEnd::kAbort);
          co_await Fail(
              ExchangeError::Downstream(ErrorKind::kBodyTooLarge, http::Step::kReadRequestBody));
          co_return;
        }
        if (!in.empty() && us.unsent() < upstream::Http2Call::kRequestHighWater) {
          const std::size_t n = in.size();
          us.Write(in);
          in.clear();
          d_.BodyForwarded(n);
        }
        if (dd.request_ended() && in.empty()) {
          us.EndRequest();
          request_done = true;
        }
      }
      // Response head.
      if (!dd.head_queued()) {
        if (ResponseHead interim; us.TakeInterim(interim)) {  // 1xx: now, the final one follows
          const bool sent = co_await ForwardInterim(*s, interim);
          if (!sent) co_return;
          continue;
        }
        ExchangeError f = us.failure();
        if (!f && dl.fired == TimeoutKind::kUpstream) {
          f = ExchangeError::Upstream(ErrorKind::kTimeout, http::Step::kReadHead, true, false);
        }
        if (f) {
          s->End(StreamEnd::kClose);
          if (attempts.Retry(0, f, replayable)) {
            retry = true;
            break;
          }
          co_await Fail(f);
          co_return;
        }
        if (us.head_done()) {
          head = {};
          us.Head(head);
          if (attempts.Retry(head.status, {}, replayable)) {
            s->End(StreamEnd::kClose);
            retry = true;
            break;
          }
          if (replayable && !in.empty()) {  // sent: the client's window comes back
            d_.BodyForwarded(in.size());
            in.clear();
          }
          st_.acct.upstream_end = env_.loop.now();
          ex_.status = head.status;
          ex_.response = {head.status, head.headers, {}, true};
          if (ran_ > 0) {
            Decision r = ResponseGates();
            if (r.kind == Decision::Kind::kAwait) r = co_await ResponseGatesAsync();
            if (!r.is_continue()) {
              s->End(StreamEnd::kClose);
              attempts.Finished({});
              co_await Answer(r);
              co_return;
            }
          }
          const bool empty = us.ended() && us.body().empty() && s->trailers() == nullptr;
          status_ = head.status;
          head_sent_ = true;
          dd.QueueHead(head, head.no_body || empty);
          if (head.no_body || empty) {
            TapResponse({}, true);  // a response without a body ends here for the taps too
            break;
          }
        }
      }
      // Response body and trailers, at most the high-water mark buffered for the client.
      if (dd.head_queued()) {
        if (!us.body().empty() && !dd.backlogged()) {
          const std::size_t n = us.body().size();
          TapResponse(us.body(), false);
          dd.QueueBody(us.body());
          s->Consumed(n);
        }
        if (us.ended() && us.body().empty()) {
          TapResponse({}, true);
          dd.QueueEnd(s->trailers());
          break;
        }
        ExchangeError f = us.failure();
        if (!f && (dl.fired == TimeoutKind::kUpstream || dl.fired == TimeoutKind::kSend)) {
          f = ExchangeError::Upstream(ErrorKind::kTimeout, http::Step::kReadBody, true, false);
        }
        if (f) {
          s->End(StreamEnd::kClose);
          attempts.Finished(f);
          co_await Fail(f);  // a head went out: the stream is reset
          co_return;
        }
      }
      // The next wait is bounded by what it waits for; any event re-arms it.
      if (dd.backlogged()) {
        dl.Set(TimeoutKind::kSend, env_.loop.now(), dd.SendWait());
      } else if (!dd.head_queued() && !request_done && in.empty()) {
        dl.Set(TimeoutKind::kBody, env_.loop.now(), dd.BodyWait());
      } else {
        dl.Set(TimeoutKind::kUpstream, env_.loop.now(), attempts.upstream().response_timeout);
      }
      co_await dd.Wait();
    }
    if (!retry) break;
  }
  dl.Clear();
  d_.Watch(nullptr);
  if (!dd.request_ended() || !in.empty()) d_.DiscardBody();  // the answer is complete without it
  s->End(StreamEnd::kComplete);
  attempts.Finished({});
  Complete(status_, {});
}

}  // namespace rampart
