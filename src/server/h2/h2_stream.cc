#include "server/h2/h2_stream.h"

#include <boost/asio.hpp>
#include <charconv>
#include <cstring>

#include "core/request_id.h"
#include "http/h2/fields.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "pipeline/chain.h"
#include "server/exchange_log.h"
#include "server/h2/h2_connection.h"
#include "server/snapshot.h"
#include "server/upstream_connect.h"
#include "server/upstream_request.h"
#include "server/upstream_response.h"
#include "server/worker.h"

namespace rampart::server::h2 {

namespace asio = boost::asio;
using boost::system::error_code;
using http::h2::AuthorityConflicts;
using http::h2::Field;
using http::h2::IsConnectionSpecific;
using http::h2::ResponseHeadToFields;
using observe::LocalReason;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
}  // namespace

Stream::Stream(Connection& c, std::int32_t stream_id, std::unique_ptr<RequestState> state)
    : conn(c), id(stream_id), st(std::move(state)), wake(c.worker().io()) {
  st->request_headers.clear();
  st->response_headers.clear();
  st->ex.Reset();
  st->acct.Reset();
}

Stream::~Stream() = default;

void Stream::AddHeader(std::string_view name, std::string_view value) {
  if (name.starts_with(':')) {
    std::string* slot = name == ":method"      ? &method
                        : name == ":scheme"    ? &scheme
                        : name == ":authority" ? &authority
                        : name == ":path"      ? &path
                                               : nullptr;
    if (slot == nullptr || !slot->empty()) {
      head_malformed = true;
      return;
    }
    slot->assign(value);
    return;
  }
  if (IsConnectionSpecific(name) || (name == "te" && value != "trailers")) {
    head_malformed = true;
    return;
  }
  if (name == "cookie") {
    if (!cookie.empty()) cookie.append("; ");
    cookie.append(value);
    return;
  }
  st->request_headers.AppendCopy(head_bytes, name, value);
}

void Stream::EndHeaders() {
  if (!cookie.empty()) {
    AddHeader("cookie", cookie);  // once: `cookie` is not appended to again
    cookie.clear();
  }
  st->request_headers.Resolve(head_bytes.data());
}

asio::awaitable<void> Stream::Wait() {
  wake.expires_at(SteadyTime::max());
  co_await wake.async_wait(kUseAwaitable);
}

asio::awaitable<void> Stream::Run() {
  co_await Handle();
  // The response is queued; the stream lives until nghttp2 has sent it (or the client reset it),
  // bounded by send_timeout per wait for a client that stops reading.
  while (!closed) {
    dl.Set(TimeoutKind::kSend, conn.worker().now(), listener->limits.send_timeout);
    co_await Wait();
    if (dl.fired == TimeoutKind::kSend && !closed) {
      dl.fired = TimeoutKind::kNone;
      Reset(NGHTTP2_CANCEL);
    }
  }
  dl.Clear();
  conn.StreamDone(this);  // frees this stream: nothing may follow
}

asio::awaitable<void> Stream::Handle() {
  RequestState& s = *st;
  Exchange& ex = s.ex;
  Worker& w = conn.worker();
  const config::Listener* l = listener;
  const Peer& peer = conn.peer();
  w.stats().requests.Add();
  ex.start = w.now();
  ex.method = method;
  ex.target = path;
  ex.version = 20;
  ex.request_headers = &s.request_headers;
  ex.client_address = peer.address;
  ex.client_port = peer.port;
  ex.listener = conn.listener();
  ex.from_trusted_peer = l->trusted_proxies.Contains(peer.address);
  ex.worker = w.index();
  ex.is_tls = peer.tls;
  ex.peer = peer.identity;
  std::string_view ignored_authority;
  http::SplitTarget(path, ignored_authority, ex.path, ex.query);
  const std::string_view host_header = s.request_headers.Get("host");
  ex.authority = authority.empty() ? host_header : std::string_view(authority);
  ex.host = http::StripPort(ex.authority);
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
  if (head_too_large) co_return Reply(LocalReason::kHeadersTooLarge, "header list too large");
  if (head_malformed || path.empty() || (path[0] != '/' && path != "*")) {
    co_return Reply(LocalReason::kBadRequest, "malformed request head");
  }
  if (method == "CONNECT") {
    co_return LocalReply(501, "not_implemented", "CONNECT is not supported");
  }
  if (ex.authority.empty()) co_return Reply(LocalReason::kBadRequest, "no :authority or Host");
  if ((!authority.empty() && !http::IsValidAuthority(authority)) ||
      (s.request_headers.Has("host") && !http::IsValidAuthority(host_header))) {
    co_return Reply(LocalReason::kBadRequest, "invalid :authority or Host");
  }
  if (AuthorityConflicts(authority, host_header)) {
    co_return Reply(LocalReason::kBadRequest, "Host differs from :authority");
  }
  if (path.size() > limits.max_request_line_bytes) {
    co_return Reply(LocalReason::kUriTooLong, "request target too long");
  }
  if (ex.path != "*" && http::HasDotSegment(ex.path)) {
    co_return Reply(LocalReason::kBadRequest, "path has '.' or '..' segments");
  }
  if (body_too_large || (limits.max_body_bytes != 0 && content_length > limits.max_body_bytes)) {
    co_return Reply(LocalReason::kBodyTooLarge, "request body too large");
  }
  const CompiledRoute* route = snap->router.Match(ex);
  if (route == nullptr) co_return Reply(LocalReason::kNoRoute, "no route matches this request");
  ex.route = route;
  if (!route->gates.empty()) {
    Decision d = co_await RunRequestGates(*route, ex, gates_ran_);
    if (d.kind == Decision::Kind::kDrop) {
      Reset(NGHTTP2_CANCEL);
      Finish(0, d.reason);
      RunCompleteGates(*route, ex, gates_ran_);
      co_return;
    }
    if (d.kind == Decision::Kind::kRespond) {
      w.stats().CountLocal(LocalReason::kGate);
      ex.status = d.status;
      LocalReply(d.status, d.reason, d.message, d.headers);
      RunCompleteGates(*route, ex, gates_ran_);
      co_return;
    }
  }
  if (route->upstream->http2)
    co_await ProxyH2(*route);
  else
    co_await Proxy(*route);
  RunCompleteGates(*route, ex, gates_ran_);
}

asio::awaitable<void> Stream::Proxy(const CompiledRoute& route) {
  RequestState& s = *st;
  Exchange& ex = s.ex;
  Worker& w = conn.worker();
  const upstream::UpstreamSpec& up = *route.upstream;
  const auto& limits = listener->limits;
  error_code ec;

  // A body of unknown length goes upstream chunked; one that already arrived whole does not.
  const bool chunked =
      !s.request_headers.Has("content-length") && !(body_done && body_received == 0);
  http::UpstreamRequest ur = MakeUpstreamRequest(route, ex, *snap, conn.peer().ip, "2", s.scratch);
  ur.chunked = chunked;
  http::BuildUpstreamRequestHead(s.head_out, ur);

  UpstreamLease lease(w, up, s.acct, upstream);
  std::unique_ptr<upstream::UpstreamConnection> c;
  for (int attempt = 0;; ++attempt) {
    Acquired a = co_await lease.Acquire(dl);
    c = std::move(a.conn);
    const bool reused = a.reused;
    if (a.failure != ConnectFailure::kNone) {
      if (closed) co_return Finish(0, "client_reset");  // the reset cancelled the connect
      auto [reason, message] = lease.ConnectFailed(a.failure);
      co_return Reply(reason, message);
    }
    dl.Set(TimeoutKind::kUpstream, w.now(), up.response_timeout);
    asio::const_buffer b[1] = {asio::buffer(s.head_out)};
    co_await WriteTo(w, c->socket, c->tls.get(), b, ec);
    if (!ec) break;
    if (closed) co_return Finish(0, "client_reset");
    if (reused && attempt == 0 && dl.fired == TimeoutKind::kNone) {
      c.reset();  // closed by the origin while idle: one retry on a new connection
      continue;
    }
    lease.Fail(dl.fired == TimeoutKind::kUpstream ? observe::UpstreamError::kTimeout
                                                  : observe::UpstreamError::kReset);
    co_return Reply(LocalReason::kUpstreamUnavailable, "the upstream closed the connection");
  }

  // The request body, as the client's DATA frames arrive.
  bool request_sent = true;
  // A body abandoned after the head went upstream resets the connection (never a clean FIN).
  for (;;) {
    if (closed) {
      c->Abort();
      co_return Finish(0, "client_reset");
    }
    if (body_too_large) {
      c->Abort();
      co_return Reply(LocalReason::kBodyTooLarge, "request body too large");
    }
    if (!body_in.empty()) {
      if (!co_await SendBody(*c, chunked, up.response_timeout)) {
        request_sent = false;  // the origin may have answered early and closed: read that
        break;
      }
      continue;
    }
    if (body_done) break;
    dl.Set(TimeoutKind::kBody, w.now(), limits.body_timeout);
    co_await Wait();
    if (dl.fired == TimeoutKind::kBody && body_in.empty() && !body_done) {
      c->Abort();
      co_return Reply(LocalReason::kRequestTimeout, "the request body did not arrive in time");
    }
  }
  if (request_sent && chunked) {
    static constexpr std::string_view kLastChunk = "0\r\n\r\n";
    asio::const_buffer b[1] = {asio::buffer(kLastChunk.data(), kLastChunk.size())};
    dl.Set(TimeoutKind::kUpstream, w.now(), up.response_timeout);
    co_await WriteTo(w, c->socket, c->tls.get(), b, ec);
    request_sent = !ec;
  }

  // The response head.
  std::optional<http::h1::ResponseParser> rp;
  std::size_t rconsumed = 0;
  dl.Set(TimeoutKind::kUpstream, w.now(), up.response_timeout);
  const HeadOutcome head = co_await ReadUpstreamHead(
      w, *c, s, rp, rconsumed, {.rechunk = false, .head_request = ex.method == "HEAD"});
  if (closed) co_return Finish(0, "client_reset");
  if (head == HeadOutcome::kClosed) {
    const bool timed_out = dl.fired == TimeoutKind::kUpstream;
    lease.Fail(timed_out ? observe::UpstreamError::kTimeout : observe::UpstreamError::kReset);
    co_return Reply(timed_out ? LocalReason::kUpstreamTimeout : LocalReason::kUpstreamUnavailable,
                    timed_out ? "the upstream did not respond in time"
                              : "the upstream closed the connection without a response");
  }
  if (head != HeadOutcome::kOk) {
    lease.Fail(observe::UpstreamError::kBadResponse);
    co_return Reply(LocalReason::kUpstreamBadResponse, head == HeadOutcome::kInvalid
                                                           ? "the upstream sent an invalid response"
                                                           : "unexpected protocol switch");
  }
  s.acct.upstream_end = w.now();
  ex.status = rp->status();
  RunResponseGates(route, ex, gates_ran_);
  if (!body_done) {  // the answer no longer depends on the rest of the body
    discard_body = true;
    Consume(body_in.size());
    body_in.clear();
  }

  http::DownstreamResponse dr =
      MakeDownstreamResponse(route, ex, *snap, rp->status(), s.response_headers);
  http::BuildDownstreamResponseHead(s.head_out, dr);
  s.up_in.Consume(rconsumed);  // the head's views are not used past this point
  const int status = rp->status();
  const bool no_body = ex.method == "HEAD" || status == 204 || status == 304 ||
                       (rp->done() && s.resp_body_out.empty());
  resp.append(s.resp_body_out);
  s.acct.bytes_out += s.head_out.size() + s.resp_body_out.size();
  s.resp_body_out.clear();
  resp_done = rp->done();
  Submit(s.head_out, no_body);

  bool ok = true;
  bool upstream_clean = true;
  while (!rp->done()) {
    while (!closed && resp.size() - resp_off >= kResponseHighWater) {
      waiting_drain = true;
      dl.Set(TimeoutKind::kSend, w.now(), limits.send_timeout);
      co_await Wait();
      waiting_drain = false;
      if (dl.fired == TimeoutKind::kSend) break;
    }
    if (closed || dl.fired == TimeoutKind::kSend) {
      ok = false;
      break;
    }
    dl.Set(TimeoutKind::kUpstream, w.now(), up.response_timeout);
    observe::UpstreamError error{};
    const BodyStep step = co_await ReadUpstreamBody(w, *c, s, *rp, dl, error);
    if (step == BodyStep::kFailed) {
      if (!closed) lease.Fail(error);  // a client reset cancels the read: not the origin's doing
      ok = false;
      break;
    }
    if (step == BodyStep::kDoneAtClose) {
      upstream_clean = false;
      break;
    }
    if (!s.resp_body_out.empty()) {
      s.acct.bytes_out += s.resp_body_out.size();
      AppendResponse(s.resp_body_out);
    }
  }
  dl.Clear();
  if (ok && !no_body) {
    resp_done = true;
    std::string none;
    AppendResponse(none);
  } else if (!ok) {
    Reset(NGHTTP2_INTERNAL_ERROR);  // a truncated body must not look complete
  }
  // Reuse the upstream connection only after a complete, well-framed exchange.
  if (ok && upstream_clean && request_sent && rp->done() && rp->keep_alive() && s.up_in.empty() &&
      rp->framing() != http::h1::BodyFraming::kUntilClose) {
    lease.GiveBack(std::move(c));
  }
  Finish(ex.status, ok ? std::string_view() : closed ? "client_reset" : "upstream_aborted");
}

asio::awaitable<bool> Stream::SendBody(upstream::UpstreamConnection& up, bool chunked,
                                       std::chrono::microseconds timeout) {
  RequestState& s = *st;
  error_code ec;
  // More DATA may arrive while the write waits: it goes to body_in, not into this write.
  std::string& out = s.body_out;
  out.clear();
  if (chunked)
    http::AppendChunk(out, body_in);
  else
    out.swap(body_in);
  const std::size_t n = chunked ? body_in.size() : out.size();
  body_in.clear();
  asio::const_buffer b[1] = {asio::buffer(out)};
  dl.Set(TimeoutKind::kUpstream, conn.worker().now(), timeout);
  co_await WriteTo(conn.worker(), up.socket, up.tls.get(), b, ec);
  s.acct.bytes_in += n;
  Consume(n);
  co_return !ec;
}

void Stream::Consume(std::size_t n) noexcept {
  if (n == 0) return;
  n = std::min<std::size_t>(n, unconsumed);
  unconsumed -= n;
  if (closed)
    nghttp2_session_consume_connection(conn.session(), n);
  else
    nghttp2_session_consume(conn.session(), id, n);
  conn.Kick();
}

bool Stream::Submit(std::string_view h1_head, bool end_stream) {
  if (closed) return false;
  std::vector<Field> fields;
  std::string names;
  ResponseHeadToFields(h1_head, fields, names);
  const std::vector<nghttp2_nv> nv = http::h2::ToNv(fields);
  nghttp2_data_provider prd{};
  prd.source.ptr = this;
  prd.read_callback = ReadResponse;
  const int rv = nghttp2_submit_response(conn.session(), id, nv.data(), nv.size(),
                                         end_stream ? nullptr : &prd);
  submitted_ = rv == 0;
  conn.Kick();
  return submitted_;
}

void Stream::AppendResponse(std::string& data) {
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

ssize_t Stream::ReadResponse(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
                             std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto* s = static_cast<Stream*>(source->ptr);
  const std::size_t n = std::min(len, s->resp.size() - s->resp_off);
  if (n > 0) std::memcpy(buf, s->resp.data() + s->resp_off, n);
  s->resp_off += n;
  if (s->resp_off == s->resp.size()) {
    s->resp.clear();
    s->resp_off = 0;
  }
  if (s->resp_done && s->resp.empty()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailer_lengths.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      s->SubmitTrailers();
    }
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  if (s->waiting_drain && s->resp.size() - s->resp_off < kResponseHighWater / 2) s->Wake();
  return static_cast<ssize_t>(n);
}

void Stream::LocalReply(int status, std::string_view reason, std::string_view message,
                        std::string_view extra_headers) {
  RequestState& s = *st;
  discard_body = true;
  Consume(unconsumed);
  body_in.clear();
  http::BuildLocalReply(s.head_out, status, reason, message, s.ex.request_id, true, extra_headers);
  const std::size_t head_end = s.head_out.find("\r\n\r\n");
  const std::string_view head = std::string_view(s.head_out).substr(0, head_end + 2);
  const bool head_request = method == "HEAD";  // headers of the GET answer, no body
  if (!head_request) resp.assign(std::string_view(s.head_out).substr(head_end + 4));
  resp_done = true;
  s.acct.bytes_out += head_request ? head_end + 4 : s.head_out.size();
  Submit(head, head_request);
  Finish(status, reason);
}

void Stream::Reply(LocalReason reason, std::string_view message) {
  conn.worker().stats().CountLocal(reason);
  LocalReply(observe::ReasonStatus(reason), observe::ReasonToken(reason), message);
}

void Stream::Reset(std::uint32_t error_code) noexcept {
  if (closed) return;
  nghttp2_submit_rst_stream(conn.session(), NGHTTP2_FLAG_NONE, id, error_code);
  conn.Kick();
}

void Stream::Finish(int status, std::string_view reason) {
  const Peer& p = conn.peer();
  FinishExchange(conn.worker(), snap.get(), *st, {p.ip, p.port, conn.listener(), "HTTP/2"}, status,
                 reason);
}

}  // namespace rampart::server::h2
