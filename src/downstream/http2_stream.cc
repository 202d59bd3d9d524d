#include "downstream/http2_stream.h"

#include <boost/asio.hpp>
#include <charconv>
#include <cstring>

#include "core/request_id.h"
#include "downstream/http2_connection.h"
#include "http/h2/fields.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "pipeline/client_ip.h"
#include "pipeline/forward.h"
#include "pipeline/upstream_request.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace rampart::downstream {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using http::h2::AuthorityConflicts;
using http::h2::Field;
using http::h2::IsConnectionSpecific;
using net::TimeoutKind;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
}  // namespace

Http2Stream::Http2Stream(Http2Connection& c, std::int32_t stream_id,
                         std::unique_ptr<ExchangeState> state)
    : conn(c), id(stream_id), st(std::move(state)), wake_(c.worker().io()) {
  st->request_headers.clear();
  st->response_headers.clear();
  st->ex.Reset();
  st->acct.Reset();
  // The pooled state's buffers carry their capacity from stream to stream (an HTTP/2 stream does
  // not use body_in, the HTTP/1.1 parser's): the head's bytes go there, and come back when the
  // stream detaches or ends; so does the response body's buffer of a stream that ends without
  // detaching (GiveBuffers).
  head_bytes_.swap(st->body_in);
  head_bytes_.clear();
}

Http2Stream::~Http2Stream() = default;

void Http2Stream::GiveBuffers() noexcept {
  if (!st) return;
  st->body_in.swap(head_bytes_);
  // The response body's buffer is freed with the stream unless the state has none as large: the
  // next body is decoded into a block the allocator just had back (in cache), which costs less
  // than writing into one the state kept since its last exchange.
  if (resp.capacity() > st->out_frame.capacity()) st->out_frame.swap(resp);
}

void Http2Stream::AddHeader(std::string_view name, std::string_view value) {
  if (name.starts_with(':')) {
    std::string* slot = name == ":method"      ? &method_
                        : name == ":scheme"    ? &scheme_
                        : name == ":authority" ? &authority_
                        : name == ":path"      ? &path_
                                               : nullptr;
    if (slot == nullptr || !slot->empty()) {
      head_malformed_ = true;
      return;
    }
    slot->assign(value);
    return;
  }
  if (IsConnectionSpecific(name) || (name == "te" && value != "trailers")) {
    head_malformed_ = true;
    return;
  }
  if (name == "cookie") {
    if (!cookie_.empty()) cookie_.append("; ");
    cookie_.append(value);
    return;
  }
  st->request_headers.AppendCopy(head_bytes_, name, value);
}

void Http2Stream::EndHeaders() {
  if (!cookie_.empty()) {
    // RFC 9113 §8.2.3: the crumbs, joined with "; ", are one field for HTTP/1.1 and the gates.
    st->request_headers.AppendCopy(head_bytes_, "cookie", cookie_);
    cookie_.clear();
  }
  st->request_headers.Resolve(head_bytes_.data());
  has_body_ = !body_done_;  // END_STREAM on HEADERS: no body
}

void Http2Stream::ReceiveBody(const std::uint8_t* data, std::size_t len) {
  body_received_ += len;
  // Only a wait on the body costs the client time: bytes that come while the driver waits on
  // the origin earn credit and nothing else.
  if (dl.kind == TimeoutKind::kBody && body_wait_from_ != SteadyTime::max()) {
    body_floor_.Waited(body_wait_from_, conn.worker().now(), len);
  } else {
    body_floor_.Earned(len);
  }
  body_wait_from_ = SteadyTime::max();
  if (body_received_ > listener->limits.max_body_bytes) {
    body_too_large_ = true;
    nghttp2_session_consume(conn.session(), id, len);
  } else {
    body_in_.append(reinterpret_cast<const char*>(data), len);
    unconsumed += len;
  }
}

asio::awaitable<void> Http2Stream::Wait() {
  wake_.expires_at(SteadyTime::max());
  co_await wake_.async_wait(kUseAwaitable);
}

asio::awaitable<void> Http2Stream::Run() {
  server::Worker& w = conn.worker();
  // gRPC streams pause between messages as the call goes: only body_timeout bounds them.
  const bool grpc = st->request_headers.Get("content-type").starts_with("application/grpc");
  body_floor_.Reset(grpc ? 0 : listener->limits.min_request_body_rate,
                    listener->limits.rate_window);
  send_floor_.Reset(listener->limits.min_response_rate, listener->limits.rate_window);
  const Peer& peer = conn.peer();
  // Lives in this frame, the stream's one, for the exchange: the driver's frame is the only other.
  ForwardEnv env{w.loop(),
                 w.index(),
                 snap->site,
                 w.stats(),
                 w.access_log(),
                 w.pools(),
                 {peer.ip, peer.port, conn.listener(), "HTTP/2"},
                 peer.ip,
                 nullptr,
                 &listener->limits,
                 &w.background()};
  co_await Handle(env);
  if (!closed) {
    // The response is queued and nghttp2 sends it without this coroutine: the stream stays in
    // the connection's list until it closes (sent in full, or reset), bounded by send_timeout
    // for a client that stops reading (Http2Connection::CheckDeadlines resets it). No wait, no
    // wake-up and no frame per stream for the tail of its response.
    dl.Set(TimeoutKind::kSend, conn.worker().now(), SendWait());
    detached = true;
    // The exchange is logged and its answer queued: its state goes back to the worker now, while
    // it is in cache, for the next stream to take (LIFO), not when the last byte has gone.
    st->body_in.swap(head_bytes_);
    w.GiveExchangeState(std::move(st));
    co_return;
  }
  dl.Clear();
  conn.StreamDone(this);  // frees this stream: nothing may follow
}

void Http2Stream::SendExpired() noexcept {
  dl.fired = TimeoutKind::kNone;
  if (!closed) Reset(NGHTTP2_CANCEL);  // its close ends the stream (OnStreamClose)
}

asio::awaitable<void> Http2Stream::Handle(ForwardEnv& env) {
  ExchangeState& s = *st;
  Exchange& ex = s.ex;
  server::Worker& w = conn.worker();
  const config::Listener* l = listener;
  const Peer& peer = conn.peer();
  w.stats().requests.Add();
  ex.start = w.now();
  ex.method = method_;
  ex.target = path_;
  ex.version = 20;
  ex.request_headers = &s.request_headers;
  ex.client_port = peer.port;
  ex.listener = conn.listener();
  ex.from_trusted_peer = l->trusted_proxies.Contains(peer.address);
  ResolveClientIp(s, *l, peer.address, ex.from_trusted_peer);
  ex.worker = w.index();
  ex.is_tls = peer.tls;
  ex.peer = peer.identity;
  std::string_view ignored_authority;
  http::SplitTarget(path_, ignored_authority, ex.path, ex.query);
  if (http::NormalizePath(ex.path, s.path)) ex.path = s.path;
  const std::string_view host_header = s.request_headers.Get("host");
  ex.authority = authority_.empty() ? host_header : std::string_view(authority_);
  ex.host = http::RouteHost(ex.authority);
  std::string_view client_id;
  if (ex.from_trusted_peer) client_id = s.request_headers.Get(snap->config.request_id_header);
  if (IsAcceptableRequestId(client_id)) {
    ex.request_id = client_id;
  } else {
    s.request_id_buf = NewRequestId().text;
    ex.request_id = {s.request_id_buf.data(), s.request_id_buf.size()};
  }
  s.acct.bytes_in = header_list_bytes;

  const auto& limits = l->limits;
  std::uint64_t content_length = 0;
  const std::string_view cl = s.request_headers.Get("content-length");
  std::from_chars(cl.data(), cl.data() + cl.size(), content_length);
  auto refuse = [&](int status, std::string_view reason, std::string_view message) {
    return Refuse(*this, s, env, status, reason, message);
  };
  // Not a coroutine: it returns the driver's (or the refusal's) own, so a stream costs one frame
  // fewer.
  if (head_too_large) return refuse(431, "headers_too_large", "header list too large");
  // A well-formed CONNECT (RFC 9113 section 8.5: :authority only, no :scheme or :path) is a
  // method rampart does not implement.
  if (method_ == "CONNECT" && !head_malformed_ && path_.empty() && scheme_.empty()) {
    return refuse(501, "not_implemented", "CONNECT is not supported");
  }
  if (head_malformed_ || path_.empty() || (path_[0] != '/' && path_ != "*")) {
    return refuse(400, "bad_request", "malformed request head");
  }
  // RFC 9113 section 8.3.1: :path is an origin-form target, which has no fragment.
  if (path_.find('#') != std::string::npos) {
    return refuse(400, "bad_request", "a fragment in :path");
  }
  if (method_ == "CONNECT") return refuse(400, "bad_request", "CONNECT with :scheme or :path");
  if (ex.authority.empty()) return refuse(400, "bad_request", "no :authority or Host");
  if ((!authority_.empty() && !http::IsValidAuthority(authority_)) ||
      (s.request_headers.Has("host") && !http::IsValidAuthority(host_header))) {
    return refuse(400, "bad_request", "invalid :authority or Host");
  }
  if (AuthorityConflicts(authority_, host_header)) {
    return refuse(400, "bad_request", "Host differs from :authority");
  }
  if (path_.size() > limits.max_request_line_bytes) {
    return refuse(414, "uri_too_long", "request target too long");
  }
  if (const std::string_view problem = http::PathProblem(ex.method, ex.path); !problem.empty()) {
    return refuse(400, "bad_request", problem);
  }
  if (http::IsTraceMethod(ex.method)) {
    return refuse(405, "method_not_allowed", "TRACE is not forwarded");
  }
  if (body_too_large_ || (limits.max_body_bytes != 0 && content_length > limits.max_body_bytes)) {
    return refuse(413, "body_too_large", "request body too large");
  }
  return Forward(*this, s, env);
}

std::optional<std::uint64_t> Http2Stream::declared_length() const noexcept {
  bool found = false;
  const std::string_view cl = st->request_headers.Get("content-length", &found);
  if (!found) return std::nullopt;
  std::uint64_t n = 0;
  std::from_chars(cl.data(), cl.data() + cl.size(), n);  // nghttp2 checked: digits
  return n;
}

void Http2Stream::TakeBody(std::string& out) noexcept { MoveAppend(out, body_in_); }

asio::awaitable<ExchangeError> Http2Stream::ReadBody(std::string& out, bool& end) {
  for (;;) {
    if (closed) {
      co_return ExchangeError::Downstream(ErrorKind::kClientReset, http::Step::kReadRequestBody);
    }
    if (body_too_large_) {
      co_return ExchangeError::Downstream(ErrorKind::kBodyTooLarge, http::Step::kReadRequestBody);
    }
    if (!body_in_.empty() || body_done_) break;
    dl.Set(TimeoutKind::kBody, conn.worker().now(), BodyWait());
    co_await Wait();
    if (dl.fired == TimeoutKind::kBody && body_in_.empty() && !body_done_) {
      co_return ExchangeError::Downstream(ErrorKind::kRequestTimeout, http::Step::kReadRequestBody);
    }
  }
  TakeBody(out);
  end = body_done_;
  co_return ExchangeError{};
}

void Http2Stream::BodyForwarded(std::size_t n) noexcept {
  st->acct.bytes_in += n;
  // Bytes the body phase held already gave their window back (BodyHeld).
  const std::size_t given = std::min<std::uint64_t>(n, held_);
  held_ -= given;
  Consume(n - given);
}

void Http2Stream::BodyHeld(std::size_t n) noexcept {
  held_ += n;
  Consume(n);
}

void Http2Stream::DiscardBody() noexcept {
  if (discard_body) return;
  discard_body = true;  // later DATA only gives its window back
  Consume(unconsumed);
  body_in_.clear();
}

void Http2Stream::Consume(std::size_t n) noexcept {
  if (n == 0) return;
  n = std::min<std::size_t>(n, unconsumed);
  unconsumed -= n;
  if (closed)
    nghttp2_session_consume_connection(conn.session(), n);
  else
    nghttp2_session_consume(conn.session(), id, n);
  conn.Kick();
}

bool Http2Stream::QueueHead(const upstream::ResponseHead& head, bool end) {
  ExchangeState& s = *st;
  http::DownstreamResponse dr =
      MakeDownstreamResponse(*s.ex.route, s.ex, snap->site, head.status, *head.headers);
  dr.received_protocol = head.protocol;
  HeadScratch& scratch = Scratch();
  s.acct.bytes_out += http::h2::ResponseFields(dr, scratch.fields, scratch.names);
  resp_done_ = end;
  return SubmitFields(scratch.fields, end);
}

void Http2Stream::QueueBody(std::string& data) {
  st->acct.bytes_out += data.size();
  AppendResponse(data);
}

void Http2Stream::QueueEnd(const http::HeaderList* trailers) {
  if (trailers != nullptr) {
    for (const auto& f : *trailers) {
      if (http::h2::IsForbiddenTrailer(f.name)) continue;
      trailer_bytes_.append(f.name).append(f.value);
      trailer_lengths_.emplace_back(f.name.size(), f.value.size());
    }
  }
  resp_done_ = true;
  std::string none;
  AppendResponse(none);
}

asio::awaitable<bool> Http2Stream::SendHead(const upstream::ResponseHead& head, std::string& body,
                                            bool end) {
  const bool no_body = head.no_body || (end && body.empty());
  QueueHead(head, no_body);
  if (no_body) co_return !closed;
  co_return co_await SendBody(body, end, nullptr);
}

asio::awaitable<bool> Http2Stream::SendInterim(const upstream::ResponseHead& head) {
  if (closed) co_return false;
  const http::DownstreamResponse dr =
      MakeInterimResponse(snap->site, head.status, *head.headers, head.protocol);
  HeadScratch& scratch = Scratch();
  st->acct.bytes_out += http::h2::ResponseFields(dr, scratch.fields, scratch.names);
  std::vector<nghttp2_nv>& nv = scratch.nv;
  http::h2::ToNv(scratch.fields, nv);
  // A HEADERS frame without END_STREAM before the response's own (RFC 9113 section 8.1).
  const int rv = nghttp2_submit_headers(conn.session(), NGHTTP2_FLAG_NONE, id, nullptr, nv.data(),
                                        nv.size(), nullptr);
  conn.Kick();
  co_return rv == 0 && !closed;
}

std::optional<bool> Http2Stream::SendHeadNow(const upstream::ResponseHead& head, std::string& body,
                                             bool end) {
  // SendHead's path when nothing has to wait: the stream is open and its backlog has room.
  const bool no_body = head.no_body || (end && body.empty());
  if (closed || (!no_body && backlogged())) return std::nullopt;
  QueueHead(head, no_body);
  if (no_body) return !closed;
  if (!body.empty()) QueueBody(body);
  if (end) QueueEnd(nullptr);
  return true;
}

asio::awaitable<bool> Http2Stream::SendBody(std::string& body, bool end,
                                            const http::HeaderList* trailers) {
  // At most kResponseHighWater buffered: wait for the client's window.
  while (!closed && backlogged()) {
    dl.Set(TimeoutKind::kSend, conn.worker().now(), SendWait());
    co_await Wait();
    if (dl.fired == TimeoutKind::kSend) co_return false;
  }
  if (closed) co_return false;
  if (!body.empty()) QueueBody(body);  // the buffer itself when none is queued: no copy
  if (end) QueueEnd(trailers);
  co_return true;
}

asio::awaitable<bool> Http2Stream::SendLocal(int status, std::string_view reason,
                                             std::string_view message, std::string_view headers) {
  ExchangeState& s = *st;
  DiscardBody();
  http::BuildLocalReply(s.head_out, status, reason, message, s.ex.request_id, true, headers);
  const std::size_t head_end = s.head_out.find("\r\n\r\n");
  const std::string_view head = std::string_view(s.head_out).substr(0, head_end + 2);
  const bool head_request = method_ == "HEAD";  // headers of the GET answer, no body
  if (!head_request) resp.assign(std::string_view(s.head_out).substr(head_end + 4));
  resp_done_ = true;
  s.acct.bytes_out += head_request ? head_end + 4 : s.head_out.size();
  co_return Submit(head, head_request);
}

asio::awaitable<bool> Http2Stream::SendStored(const StoredResponse& r, std::string_view headers) {
  ExchangeState& s = *st;
  DiscardBody();
  http::BuildWholeResponseHead(s.head_out, r.status, r.headers, headers, s.ex.request_id,
                               r.body.size(), true);
  const bool head_only = method_ == "HEAD" || r.status == 204 || r.status == 304;
  if (!head_only) resp.assign(r.body);
  resp_done_ = true;
  s.acct.bytes_out += s.head_out.size() + (head_only ? 0 : r.body.size());
  co_return Submit(s.head_out, head_only);
}

void Http2Stream::Abort() noexcept {
  // A response that started cannot look complete: INTERNAL_ERROR; else the stream is refused.
  Reset(submitted_ ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_CANCEL);
}

namespace {

// The next wait's length: the timeout, or the floor's credit left after the wait so far. A wait
// of another kind in between (on the origin) ends the client's.
std::chrono::microseconds StartWait(net::RateFloor& floor, SteadyTime& from, bool continues,
                                    SteadyTime now, std::chrono::microseconds timeout) noexcept {
  if (from == SteadyTime::max() || !continues) from = now;
  return floor.Allowance(timeout, 0,
                         std::chrono::duration_cast<std::chrono::microseconds>(now - from));
}

}  // namespace

std::chrono::microseconds Http2Stream::BodyWait() noexcept {
  return StartWait(body_floor_, body_wait_from_, dl.kind == TimeoutKind::kBody, conn.worker().now(),
                   listener->limits.body_timeout);
}

std::chrono::microseconds Http2Stream::SendWait() noexcept {
  return StartWait(send_floor_, send_wait_from_, dl.kind == TimeoutKind::kSend, conn.worker().now(),
                   listener->limits.send_timeout);
}

Http2Stream::HeadScratch& Http2Stream::Scratch() {
  // The worker's (one thread, and nghttp2 copies the fields before a submit returns): kept from
  // one response to the next, so a head costs no allocation of its own.
  thread_local HeadScratch scratch;
  return scratch;
}

bool Http2Stream::Submit(std::string_view h1_head, bool end_stream) {
  HeadScratch& scratch = Scratch();
  http::h2::ResponseHeadToFields(h1_head, scratch.fields, scratch.names);
  return SubmitFields(scratch.fields, end_stream);
}

bool Http2Stream::SubmitFields(std::span<const Field> fields, bool end_stream) {
  if (closed) return false;
  std::vector<nghttp2_nv>& nv = Scratch().nv;
  http::h2::ToNv(fields, nv);
  nghttp2_data_provider prd{};
  prd.source.ptr = this;
  prd.read_callback = ReadResponse;
  const int rv = nghttp2_submit_response(conn.session(), id, nv.data(), nv.size(),
                                         end_stream ? nullptr : &prd);
  submitted_ = rv == 0;
  conn.Kick();
  return submitted_;
}

bool Http2Stream::backlogged() const noexcept {
  const std::size_t pending = pending_response();
  return pending >= kResponseHighWater || conn.response_full();
}

void Http2Stream::AppendResponse(std::string& data) {
  conn.ResponseQueued(data.size());
  if (resp.empty()) {
    resp.swap(data);  // the common case: the previous piece is sent, take this one as it is
    resp_off = 0;
  } else {
    resp.append(data);
  }
  data.clear();
  if (!closed && submitted_) nghttp2_session_resume_data(conn.session(), id);
  conn.Kick();
}

ssize_t Http2Stream::ReadResponse(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t len,
                                  std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<Http2Stream*>(source->ptr);
  const std::size_t left = s->resp.size() - s->resp_off;
  const std::size_t n = std::min(len, left);
  if (n > 0) *flags |= NGHTTP2_DATA_FLAG_NO_COPY;  // SendData copies the bytes and moves on
  if (s->resp_done_ && n == left) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailer_lengths_.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      s->SubmitTrailers();
    }
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<ssize_t>(n);
}

int Http2Stream::SendData(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                          std::size_t length, nghttp2_data_source* source, void*) {
  auto* s = static_cast<Http2Stream*>(source->ptr);
  std::string& out = net::FrameIo::batch();
  out.append(reinterpret_cast<const char*>(framehd), 9);
  const std::size_t pad = frame->data.padlen;  // rampart asks for none; written as RFC 9113 6.1
  if (pad > 0) out.push_back(static_cast<char>(pad - 1));
  out.append(s->resp, s->resp_off, length);
  if (pad > 1) out.append(pad - 1, '\0');
  s->resp_off += length;
  s->Sent(length);
  s->conn.ResponseSent(length);
  const std::size_t left = s->resp.size() - s->resp_off;
  if (left == 0) {
    s->resp.clear();
    s->resp_off = 0;
  }
  // A backlog that drained below half the high-water mark wakes the stream, once per drain.
  if (left < kResponseHighWater / 2 && left + length >= kResponseHighWater / 2) s->Wake();
  // nghttp2 would go on packing every ready stream's DATA into this one batch: a full batch is
  // written first (nghttp2_session_mem_send returns, the frame counted as sent).
  return net::FrameIo::batch_full() ? NGHTTP2_ERR_PAUSE : 0;
}

void Http2Stream::Sent(std::size_t n) noexcept {
  // As for the body: a wait on the client reading costs it time, other bytes earn credit.
  const SteadyTime now = conn.worker().now();
  if (dl.kind == TimeoutKind::kSend && send_wait_from_ != SteadyTime::max()) {
    send_floor_.Waited(send_wait_from_, now, n);
    send_wait_from_ = now;
    // The wait goes on (the stream wakes only when its backlog halves): what these bytes earned
    // moves its deadline, so a client above the floor is never cut mid-wait.
    if (dl.expiry != SteadyTime::max()) {
      dl.Set(TimeoutKind::kSend, now, send_floor_.Allowance(listener->limits.send_timeout));
    }
  } else {
    send_floor_.Earned(n);
  }
}

void Http2Stream::SubmitTrailers() noexcept {
  std::vector<Field> fields;
  fields.reserve(trailer_lengths_.size());
  std::string_view rest = trailer_bytes_;
  for (const auto& [nlen, vlen] : trailer_lengths_) {
    fields.push_back({rest.substr(0, nlen), rest.substr(nlen, vlen)});
    rest.remove_prefix(nlen + vlen);
  }
  const std::vector<nghttp2_nv> nv = http::h2::ToNv(fields);
  nghttp2_submit_trailer(conn.session(), id, nv.data(), nv.size());
}

void Http2Stream::Reset(std::uint32_t error_code) noexcept {
  if (closed) return;
  nghttp2_submit_rst_stream(conn.session(), NGHTTP2_FLAG_NONE, id, error_code);
  conn.Kick();
}

}  // namespace rampart::downstream
