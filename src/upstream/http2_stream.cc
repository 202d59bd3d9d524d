#include "upstream/http2_stream.h"

#include "core/strings.h"

namespace rampart::upstream {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using http::Step;
using net::TimeoutKind;

namespace {

// Client asked for trailers (TE lists "trailers"): gRPC needs "te: trailers" upstream.
bool WantsTrailers(const http::HeaderList& request_headers) noexcept {
  bool wants = false;
  for (const auto& f : request_headers) {
    if (!IEquals(f.name, "te")) continue;
    ForEachListToken(f.value, [&](std::string_view item) {
      item = TrimOws(item.substr(0, item.find(';')));
      wants = wants || IEquals(item, "trailers");
    });
  }
  return wants;
}

}  // namespace

Http2Stream::Http2Stream(net::LoopContext& loop, int worker, Http2Sessions& sessions,
                         const UpstreamSpec& up, const EndpointSpec& ep,
                         observe::UpstreamSlot& stats, net::Deadline& dl,
                         http::HeaderList& response_headers, std::string& head_text,
                         asio::steady_timer* wake)
    : loop_(loop),
      worker_(worker),
      sessions_(sessions),
      up_(up),
      ep_(ep),
      stats_(stats),
      dl_(dl),
      head_text_(head_text),
      call_(loop.io(), response_headers, wake) {}

bool Http2Stream::TryReady() {
  session_ = sessions_.Get(loop_, worker_, up_, ep_);
  reused_ = session_->state() == Http2Session::State::kReady;
  if (reused_) stats_.connections_reused.Add();
  return reused_;
}

asio::awaitable<ExchangeError> Http2Stream::Open() {
  session_ = sessions_.Get(loop_, worker_, up_, ep_);
  reused_ = session_->state() == Http2Session::State::kReady;
  co_await session_->WaitReady();
  loop_.RefreshNow();
  if (session_->state() == Http2Session::State::kClosed && session_->connect_failure()) {
    co_return session_->connect_failure();
  }
  if (reused_) stats_.connections_reused.Add();
  co_return ExchangeError{};
}

asio::awaitable<ExchangeError> Http2Stream::SendHead(const http::UpstreamRequest& request,
                                                     std::string_view body, bool end) {
  head_request_ = request.method == "HEAD";
  http::BuildUpstreamRequestHead(head_text_, request);
  http::h2::RequestHeadToFields(head_text_, up_.tls ? "https" : "http", fields_, names_);
  if (request.headers && WantsTrailers(*request.headers)) fields_.push_back({"te", "trailers"});
  const bool has_body = !(end && body.empty());
  // A session can close, or fill up, between being handed out and taking the stream: ask
  // again, boundedly.
  for (int attempt = 0; attempt < 3; ++attempt) {
    if (attempt > 0) {
      ExchangeError e = co_await Open();
      if (e) co_return e;
    }
    if (session_->Open(call_, fields_, has_body)) {
      call_.Write(body);
      if (end) call_.EndRequest();
      co_return ExchangeError{};
    }
  }
  co_return ExchangeError::Upstream(ErrorKind::kConnectRefused, Step::kConnect, false, true);
}

asio::awaitable<ExchangeError> Http2Stream::SendBody(std::string_view body, bool end) {
  call_.Write(body);
  if (end) call_.EndRequest();
  // Held back while the origin's window is shut: at most kRequestHighWater waits here.
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  while (call_.unsent() >= Http2Call::kRequestHighWater && !call_.failed() && !call_.ended() &&
         dl_.fired != TimeoutKind::kUpstream) {
    co_await call_.Wait();
  }
  if (dl_.fired == TimeoutKind::kUpstream) {
    co_return ExchangeError::Upstream(ErrorKind::kTimeout, Step::kSendBody, true, false);
  }
  if (call_.failed() || call_.ended()) {
    // Answered early, or reset: what the origin says is read next.
    co_return ExchangeError::Upstream(ErrorKind::kReset, Step::kSendBody, true, false);
  }
  co_return ExchangeError{};
}

ExchangeError Http2Stream::failure() const noexcept {
  if (call_.head_too_large()) {
    return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadHead, true, false);
  }
  if (call_.head_done() && call_.status() < 200) {  // 101 is not allowed in HTTP/2
    return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadHead, true, false);
  }
  const Step step = call_.head_done() ? Step::kReadBody : Step::kReadHead;
  if (call_.refused()) return ExchangeError::Upstream(ErrorKind::kRefusedStream, step, false, true);
  if (call_.failed()) return ExchangeError::Upstream(ErrorKind::kReset, step, true, false);
  return {};
}

void Http2Stream::Head(ResponseHead& head) const noexcept {
  head.status = call_.status();
  head.headers = &call_.headers();
  head.protocol = "2";
  head.no_body = head_request_ || head.status == 204 || head.status == 304;
  head.content_length = call_.content_length();
}

bool Http2Stream::TakeInterim(ResponseHead& head) noexcept {
  const Http2Call::InterimHead* interim = call_.TakeInterim();
  if (interim == nullptr) return false;
  head.status = interim->status;
  head.headers = &interim->headers;
  head.protocol = "2";
  head.interim = true;
  return true;
}

asio::awaitable<ExchangeError> Http2Stream::ReadHead(ResponseHead& head, std::string& body,
                                                     bool& end) {
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  for (;;) {
    // Interim heads first: the origin sent them before whatever failed after.
    if (TakeInterim(head)) co_return ExchangeError{};
    if (ExchangeError e = failure()) co_return e;
    if (call_.head_done()) break;
    if (dl_.fired == TimeoutKind::kUpstream) {
      co_return ExchangeError::Upstream(ErrorKind::kTimeout, Step::kReadHead, true, false);
    }
    co_await call_.Wait();
  }
  Head(head);
  body.swap(call_.body());
  end = call_.ended();
  co_return ExchangeError{};
}

asio::awaitable<ExchangeError> Http2Stream::ReadBody(std::string& body, bool& end) {
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  while (call_.body().empty() && !call_.ended()) {
    if (call_.failed()) {
      co_return ExchangeError::Upstream(ErrorKind::kReset, Step::kReadBody, true, false);
    }
    if (dl_.fired == TimeoutKind::kUpstream) {
      co_return ExchangeError::Upstream(ErrorKind::kTimeout, Step::kReadBody, true, false);
    }
    co_await call_.Wait();
  }
  MoveAppend(body, call_.body());
  end = call_.ended();
  co_return ExchangeError{};
}

const http::HeaderList* Http2Stream::trailers() const noexcept {
  return call_.trailers().size() > 0 ? &call_.trailers() : nullptr;
}

void Http2Stream::End(StreamEnd) noexcept {
  // A stream that has not ended is reset (CANCEL) as it detaches; one that ended leaves its
  // session to the next request.
  call_.Detach();
  session_.reset();
}

}  // namespace rampart::upstream
