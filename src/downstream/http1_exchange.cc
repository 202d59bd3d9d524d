#include "downstream/http1_exchange.h"

#include "downstream/http1_connection.h"
#include "http/h2/fields.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "pipeline/upstream_request.h"
#include "server/worker.h"

namespace rampart::downstream {

namespace asio = boost::asio;
using boost::system::error_code;
using http::ErrorKind;
using http::ExchangeError;
using http::h1::BodyFraming;
using net::TimeoutKind;

namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

// The last chunk, with the response's trailers as the chunked trailer section (RFC 9112
// section 7.1.2), without the fields a trailer section must not carry.
void AppendLastChunk(std::string& out, const http::HeaderList* trailers) {
  out.append("0\r\n");
  if (trailers != nullptr) {
    for (const auto& f : *trailers) {
      if (http::h2::IsForbiddenTrailer(f.name)) continue;
      out.append(f.name).append(": ").append(f.value).append("\r\n");
    }
  }
  out.append("\r\n");
}

ExchangeError BodyParseError(const http::h1::RequestParser& p) {
  const std::string_view detail = p.failure_detail();
  switch (p.failure()) {
    case http::ParseFailure::kBodyTooLarge:
      return ExchangeError::Downstream(ErrorKind::kBodyTooLarge, http::Step::kReadRequestBody,
                                       detail);
    case http::ParseFailure::kHeadersTooLarge:
      return ExchangeError::Downstream(ErrorKind::kTrailersTooLarge, http::Step::kReadRequestBody,
                                       detail);
    default:
      return ExchangeError::Downstream(ErrorKind::kBadRequestBody, http::Step::kReadRequestBody,
                                       detail);
  }
}

}  // namespace

void Http1Exchange::Begin(ExchangeState& st) noexcept {
  st_ = &st;
  watched_ = nullptr;
  chunked_out_ = keep_alive_ = linger_ = continued_ = close_after_ = false;
  if (const config::Listener* l = c_.listener_) {
    body_floor_.Reset(l->limits.min_request_body_rate, l->limits.rate_window);
    send_floor_.Reset(l->limits.min_response_rate, l->limits.rate_window);
  }
}

net::Deadline& Http1Exchange::deadline() noexcept { return c_.dl_; }

bool Http1Exchange::has_body() const noexcept {
  return st_->parser->framing() != BodyFraming::kNone;
}

bool Http1Exchange::body_done() const noexcept {
  return st_->parser->done() && st_->body_in.empty();
}

std::optional<std::uint64_t> Http1Exchange::declared_length() const noexcept {
  const auto& p = *st_->parser;
  if (p.framing() == BodyFraming::kContentLength) return p.content_length();
  return std::nullopt;
}

std::string_view Http1Exchange::received_protocol() const noexcept {
  return st_->parser->version() == 10 ? "1.0" : "1.1";
}

std::string_view Http1Exchange::upgrade() const noexcept {
  // WebSocket (RFC 6455 section 4): passed through only on routes that allow it; elsewhere the
  // Upgrade and Connection headers are hop-by-hop and dropped like any other.
  const auto& p = *st_->parser;
  if (p.version() != 11 || !p.done() || p.body_bytes() != 0) return {};
  if (!IEquals(st_->request_headers.Get("upgrade"), "websocket")) return {};
  return http::ConnectionTokens(st_->request_headers).Contains("upgrade") ? "websocket" : "";
}

void Http1Exchange::TakeBody(std::string& out) noexcept { MoveAppend(out, st_->body_in); }

void Http1Exchange::TakeBodyLeftover() {
  // The head's read may have ended inside the body (a chunk line cut in two): those bytes are
  // still in in_ past what the parser consumed, and the body continues in st.aux after them.
  // in_ itself stays as it is: the head's views point into it.
  if (st_->parser->done() || c_.in_.size() <= c_.head_consumed_) return;
  const std::size_t n = c_.in_.size() - c_.head_consumed_;
  st_->aux.Append(c_.in_.data() + c_.head_consumed_, n, n);
  c_.head_consumed_ = c_.in_.size();
}

asio::awaitable<ExchangeError> Http1Exchange::ReadBodyPiece() {
  ExchangeState& st = *st_;
  http::h1::RequestParser& p = *st.parser;
  TakeBodyLeftover();
  c_.SetDeadline(TimeoutKind::kBody, body_floor_.Allowance(c_.listener_->limits.body_timeout));
  const SteadyTime from = c_.worker_.now();
  // Room for a whole trailer section: the parser waits for one before it consumes it (and bounds
  // chunk lines itself, so this never fills up with a request it would accept).
  const std::size_t max_total = std::max(
      2 * kReadChunk, static_cast<std::size_t>(c_.listener_->limits.max_header_bytes) + kReadChunk);
  auto space = st.aux.Prepare(kReadChunk, max_total);
  if (space.empty()) {
    co_return ExchangeError::Downstream(ErrorKind::kTrailersTooLarge, http::Step::kReadRequestBody,
                                        "trailer section too large");
  }
  error_code ec;
  std::size_t n = co_await c_.DownRead(space, ec);
  body_floor_.Waited(from, c_.worker_.now(), n);
  if (ec) {
    co_return ExchangeError::Downstream(
        c_.dl_.fired == TimeoutKind::kBody ? ErrorKind::kRequestTimeout : ErrorKind::kClientClosed,
        http::Step::kReadRequestBody);
  }
  st.acct.bytes_in += n;
  st.aux.Commit(n);
  st.aux.Consume(p.Feed(st.aux.data(), st.aux.size()));
  if (p.failure() != http::ParseFailure::kNone) co_return BodyParseError(p);
  co_return ExchangeError{};
}

asio::awaitable<ExchangeError> Http1Exchange::CompleteChunkLine() {
  // A chunk line cut off at the end of the head's read is completed before anything goes
  // upstream, so a malformed or oversized one is refused without the origin seeing the request.
  constexpr std::size_t kMaxHeld = 64 * 1024;  // decoded body bytes held meanwhile
  TakeBodyLeftover();
  http::h1::RequestParser& p = *st_->parser;
  while (!p.done() && p.partial_chunk_line() && st_->body_in.size() < kMaxHeld) {
    ExchangeError e = co_await ReadBodyPiece();
    if (e) co_return e;
  }
  co_return ExchangeError{};
}

asio::awaitable<ExchangeError> Http1Exchange::ReadBody(std::string& out, bool& end) {
  http::h1::RequestParser& p = *st_->parser;
  if (!p.done() && st_->body_in.empty()) {
    ExchangeError e = co_await ReadBodyPiece();
    if (e) co_return e;
  }
  TakeBody(out);
  end = p.done();
  co_return ExchangeError{};
}

asio::awaitable<bool> Http1Exchange::Continue() {
  if (continued_) co_return true;
  continued_ = true;
  const auto& p = *st_->parser;
  if (p.version() != 11 || p.done() || p.body_bytes() != 0 ||
      !IEquals(st_->request_headers.Get("expect"), "100-continue")) {
    co_return true;
  }
  static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
  co_return co_await Write(k100, {});
}

bool Http1Exchange::CanKeep() const noexcept {
  const auto& p = *st_->parser;
  const auto& limits = c_.listener_->limits;
  return !close_after_ && p.done() && p.keep_alive() && !c_.worker_.draining() &&
         (limits.max_requests_per_connection == 0 ||
          c_.requests_ < limits.max_requests_per_connection);
}

bool Http1Exchange::BeginWrite(std::span<asio::const_buffer> bufs, error_code& ec) {
  const std::chrono::microseconds timeout =
      c_.listener_ ? c_.listener_->limits.send_timeout : std::chrono::seconds(10);
  write_bytes_ = 0;
  for (const auto& b : bufs) write_bytes_ += b.size();
  // The write ends only when the socket has taken all of it: its own bytes earn its time.
  c_.SetDeadline(TimeoutKind::kSend, send_floor_.Allowance(timeout, write_bytes_));
  st_->acct.bytes_out += write_bytes_;
  write_from_ = c_.worker_.now();
  write_waits_ = !net::WriteNow(c_.socket_, c_.tls_.get(), bufs, ec);
  if (!write_waits_) send_floor_.Earned(write_bytes_);
  return !write_waits_;
}

bool Http1Exchange::EndWrite(const error_code& ec) noexcept {
  // Only a write that waited on the client costs it time; one the socket took at once earned.
  if (write_waits_ && !ec) send_floor_.Waited(write_from_, c_.worker_.now(), write_bytes_);
  write_waits_ = false;
  if (ec) keep_alive_ = false;
  return !ec;
}

asio::awaitable<bool> Http1Exchange::Write(std::string_view a, std::string_view b) {
  asio::const_buffer bufs[2] = {asio::buffer(a.data(), a.size()), asio::buffer(b.data(), b.size())};
  error_code ec;
  if (!BeginWrite(bufs, ec)) co_await c_.DownWrite(bufs, ec);
  co_return EndWrite(ec);
}

asio::awaitable<bool> Http1Exchange::SendHead(const upstream::ResponseHead& head, std::string& body,
                                              bool end) {
  ExchangeState& st = *st_;
  const bool client11 = st.parser->version() == 11;
  using Framing = http::DownstreamResponse::Framing;
  Framing df = Framing::kAsIs;
  if (!head.no_body && !head.content_length) df = client11 ? Framing::kChunked : Framing::kClose;
  keep_alive_ = CanKeep() && df != Framing::kClose;
  http::DownstreamResponse dr =
      MakeDownstreamResponse(*st.ex.route, st.ex, c_.snap_->site, head.status, *head.headers);
  dr.received_protocol = head.protocol;
  dr.framing = df;
  dr.keep_alive = keep_alive_;
  dr.client_http10 = !client11;
  http::BuildDownstreamResponseHead(st.head_out, dr);
  chunked_out_ = df == Framing::kChunked;
  std::string_view out = body;
  if (chunked_out_) {
    std::string& frame = st.out_frame;
    frame.clear();
    if (!body.empty()) http::AppendChunk(frame, body);
    if (end) AppendLastChunk(frame, nullptr);
    out = frame;
  }
  // Head and first body bytes in one write; the common case needs no further coroutine frame.
  asio::const_buffer bufs[2] = {asio::buffer(st.head_out), asio::buffer(out.data(), out.size())};
  error_code ec;
  if (!BeginWrite(bufs, ec)) co_await c_.DownWrite(bufs, ec);
  co_return EndWrite(ec);
}

asio::awaitable<bool> Http1Exchange::SendInterim(const upstream::ResponseHead& head) {
  ExchangeState& st = *st_;
  // RFC 9110 section 15.2: a server must not send a 1xx response to an HTTP/1.0 client.
  if (st.parser->version() != 11) co_return true;
  const http::DownstreamResponse dr =
      MakeInterimResponse(c_.snap_->site, head.status, *head.headers, head.protocol);
  http::BuildDownstreamResponseHead(st.head_out, dr);
  co_return co_await Write(st.head_out, {});
}

asio::awaitable<bool> Http1Exchange::SendBody(std::string& body, bool end,
                                              const http::HeaderList* trailers) {
  std::string_view out = body;
  if (chunked_out_) {
    std::string& frame = st_->out_frame;
    frame.clear();
    if (!body.empty()) http::AppendChunk(frame, body);
    if (end) AppendLastChunk(frame, trailers);
    out = frame;
  }
  if (out.empty()) co_return true;
  asio::const_buffer bufs[1] = {asio::buffer(out.data(), out.size())};
  error_code ec;
  if (!BeginWrite(bufs, ec)) co_await c_.DownWrite(bufs, ec);
  co_return EndWrite(ec);
}

asio::awaitable<bool> Http1Exchange::SendLocal(int status, std::string_view reason,
                                               std::string_view message, std::string_view headers) {
  ExchangeState& st = *st_;
  keep_alive_ = CanKeep();
  linger_ = !keep_alive_;  // a refused request may have more input on its way
  http::BuildLocalReply(st.head_out, status, reason, message, st.ex.request_id, keep_alive_,
                        headers);
  // A response to HEAD has the headers of the GET answer and no body (RFC 9110 section 9.3.2).
  if (st.ex.method == "HEAD") st.head_out.resize(st.head_out.find("\r\n\r\n") + 4);
  co_return co_await Write(st.head_out, {});
}

asio::awaitable<bool> Http1Exchange::SendStored(const StoredResponse& r, std::string_view headers) {
  ExchangeState& st = *st_;
  keep_alive_ = CanKeep();
  linger_ = !keep_alive_;
  http::BuildWholeResponseHead(st.head_out, r.status, r.headers, headers, st.ex.request_id,
                               r.body.size(), keep_alive_);
  const bool head_only = st.ex.method == "HEAD" || r.status == 204 || r.status == 304;
  co_return co_await Write(st.head_out, head_only ? std::string_view() : r.body);
}

void Http1Exchange::Abort() noexcept { keep_alive_ = false; }

}  // namespace rampart::downstream
