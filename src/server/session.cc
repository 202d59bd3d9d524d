#include "server/session.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl.hpp>

#include "core/request_id.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "net/tls/alpn.h"
#include "pipeline/chain.h"
#include "server/exchange_log.h"
#include "server/h2/h2_connection.h"
#include "server/h2/upstream_session.h"
#include "server/upstream_connect.h"
#include "server/upstream_request.h"
#include "server/upstream_response.h"
#include "server/worker.h"

namespace rampart::server {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using http::h1::BodyFraming;
using observe::LocalReason;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr auto kLingerTimeout = std::chrono::seconds(2);

LocalReason FailureReason(http::ParseFailure f) {
  switch (f) {
    case http::ParseFailure::kUriTooLong:
      return LocalReason::kUriTooLong;
    case http::ParseFailure::kHeadersTooLarge:
      return LocalReason::kHeadersTooLarge;
    case http::ParseFailure::kBodyTooLarge:
      return LocalReason::kBodyTooLarge;
    default:
      return LocalReason::kBadRequest;
  }
}

http::h1::ParserLimits RequestLimits(const config::ListenerLimits& l) {
  return {l.max_request_line_bytes, l.max_header_bytes, l.max_headers, l.max_body_bytes};
}

bool IsWebSocketUpgrade(const http::h1::RequestParser& p, const http::HeaderList& headers) {
  if (p.version() != 11 || !p.done() || p.body_bytes() != 0) return false;
  if (!IEquals(headers.Get("upgrade"), "websocket")) return false;
  return http::ConnectionTokens(headers).Contains("upgrade");
}

}  // namespace

Session::Session(Worker& worker, tcp::socket socket, const tcp::endpoint& peer,
                 std::string listener)
    : worker_(worker),
      socket_(std::move(socket)),
      listener_name_(std::move(listener)),
      in_(worker.buffers()) {
  const tcp::endpoint& ep = peer;  // from accept(): no getpeername() per connection
  peer_address_ = ep.address();
  if (peer_address_.is_v6() && peer_address_.to_v6().is_v4_mapped()) {
    peer_address_ = asio::ip::make_address_v4(asio::ip::v4_mapped, peer_address_.to_v6());
  }
  peer_port_ = ep.port();
  peer_ip_ = peer_address_.to_string();
  SetUpConnection(socket_);
  worker_.Register(this);
  auto& stats = worker_.stats();
  stats.connections_accepted.Add();
  stats.connections_active.store(stats.connections_active.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
  Adopt(worker_.snapshot());
}

Session::~Session() {
  if (st_) worker_.GiveRequestState(std::move(st_));
  worker_.Unregister(this);
  auto& stats = worker_.stats();
  stats.connections_active.store(stats.connections_active.load(std::memory_order_relaxed) - 1,
                                 std::memory_order_relaxed);
}

void Session::Adopt(std::shared_ptr<const Snapshot> snap) {
  snap_ = std::move(snap);
  listener_ = snap_ ? snap_->FindListener(listener_name_) : nullptr;
  trusted_peer_ = listener_ && listener_->trusted_proxies.Contains(peer_address_);
}

void Session::SetDeadline(TimeoutKind kind, std::chrono::microseconds d) noexcept {
  dl_.Set(kind, worker_.now(), d);
}

void Session::CheckDeadline(SteadyTime now) noexcept {
  if (h2_) h2_->CheckDeadlines(now);
  if (!dl_.Expire(now)) return;
  error_code ec;
  socket_.cancel(ec);
  if (upstream_) upstream_->socket.cancel(ec);
  if (h2_upstream_) h2_upstream_->Wake();
}

void Session::CloseIfIdle() noexcept {
  if (h2_) {
    h2_->Drain();
    return;
  }
  if (!idle_) return;
  error_code ec;
  socket_.cancel(ec);
}

asio::awaitable<bool> Session::Handshake(tls::TlsSlot& slot) {
  tls_ctx_ = slot.current();
  tls_ = std::make_unique<TlsStream>(socket_, worker_.reactor(), worker_.buffers(),
                                     tls_ctx_->default_context().native_handle(),
                                     TlsStream::Role::kServer);
  SetDeadline(TimeoutKind::kHeader, listener_->limits.header_timeout);
  error_code ec = tls_->ok() ? co_await tls_->Handshake() : asio::error::no_memory;
  worker_.RefreshNow();
  ClearDeadline();
  if (ec) {
    slot.handshakes_failed()->Add(worker_.index());
    co_return false;
  }
  slot.handshakes_ok()->Add(worker_.index());
  peer_identity_ = tls::ExtractPeerIdentity(tls_->native_handle());
  co_return true;
}

asio::awaitable<void> Session::Loop(std::unique_ptr<Session> /*self: owned by this frame*/) {
  if (listener_ != nullptr) {
    if (auto it = snap_->tls.find(listener_name_); it != snap_->tls.end()) {
      if (!co_await Handshake(*it->second)) {
        error_code ec;
        socket_.close(ec);
        co_return;
      }
      if (tls::SelectedAlpn(tls_->native_handle()) == "h2") {
        co_await ServeHttp2({});
        error_code ec;
        socket_.close(ec);
        co_return;
      }
    }
  }
  for (;;) {
    if (in_.empty()) {
      // Between requests. The wait is written out here, in the frame the connection holds
      // anyway: in ReadHead (or a helper) its frame would be held by every idle connection too.
      if (snap_ != worker_.snapshot()) Adopt(worker_.snapshot());
      if (listener_ == nullptr) break;  // the listener was removed by a reload
      error_code ec;
      const std::size_t max_total = listener_->limits.max_header_bytes + kReadChunk;
      if (worker_.draining()) {
        // Draining: serve a request that is already here, wait for none.
        if (tls_) break;
        auto space = in_.Prepare(4096, max_total);
        in_.Commit(socket_.read_some(asio::buffer(space.data(), space.size()), ec));
        if (ec) break;
      } else {
        idle_ = true;
        SetDeadline(TimeoutKind::kIdle, requests_ == 0 ? listener_->limits.header_timeout
                                                       : listener_->limits.idle_timeout);
        if (tls_) {
          // As below: the buffer is taken once the socket is readable or OpenSSL holds bytes.
          in_.ReleaseIfEmpty();
          if (co_await tls_->WaitReadable(ec))
            in_.Commit(co_await DownRead(in_.Prepare(4096, max_total), ec));
        } else {
          // The read takes its buffer from the pool only once the socket is readable, so an idle
          // connection holds none (net/drained_recv.h).
          in_.ReleaseIfEmpty();
          auto [rec, n] = co_await net::AsyncDrainedRecv(
              worker_.reactor(), socket_, net::BufferTarget{&in_, 4096, max_total}, kUseAwaitable);
          worker_.RefreshNow();
          ec = rec;
        }
        idle_ = false;
        if (ec) break;
      }
    }
    if (!co_await ReadHead()) {
      if (h2c_preface_) {
        co_await ServeHttp2({in_.data(), in_.size()});
        break;
      }
      if (linger_) co_await LingeringClose();
      break;
    }
    bool keep_alive = co_await HandleRequest(*st_->parser);
    // Unread input when we close would make the kernel answer it with RST (see LingeringClose).
    const bool unread_input =
        !st_->parser->done() || in_.size() > head_consumed_ || !st_->aux.empty();
    in_.Consume(head_consumed_);
    head_consumed_ = 0;
    // Bytes read past this request's end (pipelining) go back to the front buffer.
    if (!st_->aux.empty()) in_.Append(st_->aux.data(), st_->aux.size(), st_->aux.size());
    st_->aux.Consume(st_->aux.size());
    st_->aux.ReleaseIfEmpty();
    st_->up_in.Consume(st_->up_in.size());
    st_->up_in.ReleaseIfEmpty();
    worker_.GiveRequestState(std::move(st_));
    if (!keep_alive) {
      if (unread_input || linger_) co_await LingeringClose();
      break;
    }
  }
  error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> Session::ServeHttp2(std::string_view already_read) {
  h2::Peer peer{peer_address_, peer_port_, peer_ip_, tls_ ? &peer_identity_ : nullptr,
                tls_ != nullptr};
  h2_ = std::make_unique<h2::Connection>(worker_, socket_, tls_.get(), listener_name_, peer);
  co_await h2_->Serve(already_read);
  h2_.reset();
}

asio::awaitable<void> Session::LingeringClose() {
  // Closing with unread input makes the kernel send RST, which can destroy the response we just
  // wrote before the client reads it; half-close and drain briefly instead (like nginx's
  // lingering_close).
  error_code ec;
  socket_.shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  SetDeadline(TimeoutKind::kIdle, kLingerTimeout);
  char sink[4096];
  std::size_t total = 0;
  while (total < 256 * 1024) {
    std::size_t n =
        co_await ReadFrom(worker_, socket_, nullptr, std::span<char>(sink, sizeof(sink)), ec);
    if (ec) break;
    total += n;
  }
  ClearDeadline();
}

asio::awaitable<bool> Session::ReadHead() {
  // A reload may have landed while the connection waited: nothing of the old snapshot may be
  // held across Adopt(), which can free it.
  if (snap_ != worker_.snapshot()) Adopt(worker_.snapshot());
  if (listener_ == nullptr) co_return false;  // the listener was removed by a reload
  error_code ec;
  const config::ListenerLimits& limits = listener_->limits;  // stable until the next Adopt()
  linger_ = false;
  st_ = worker_.TakeRequestState();
  dl_.fired = TimeoutKind::kNone;
  SetDeadline(TimeoutKind::kHeader, limits.header_timeout);
  st_->ex.Reset();
  st_->acct.Reset();
  st_->ex.start = worker_.now();
  std::optional<http::h1::RequestParser>& parser = st_->parser;
  parser.emplace(RequestLimits(listener_->limits), st_->request_headers, st_->body_out);
  // Body bytes come out decoded; an HTTP/1.1 upstream gets them re-chunked by Proxy (its chunk
  // boundaries), an HTTP/2 upstream as DATA.
  parser->set_rechunk(false);
  std::size_t consumed = 0;
  const std::size_t max_total = limits.max_header_bytes + kReadChunk;
  const bool h2c = requests_ == 0 && !tls_ && listener_->http2.enabled;
  for (;;) {
    // Prior-knowledge h2c (RFC 9113 section 3.3): the connection preface instead of a request.
    if (h2c && consumed == 0 && std::string_view(in_.data(), in_.size()).starts_with("PRI ")) {
      worker_.GiveRequestState(std::move(st_));
      ClearDeadline();
      h2c_preface_ = true;
      co_return false;
    }
    if (in_.size() > consumed)
      consumed += parser->Feed(in_.data() + consumed, in_.size() - consumed);
    if (parser->failure() != http::ParseFailure::kNone) {
      head_consumed_ = in_.size();
      co_await ParseFailureReply(parser->failure(), parser->failure_detail());
      co_return false;
    }
    if (parser->header_done()) break;
    auto space = in_.Prepare(4096, max_total);
    if (space.empty()) {
      head_consumed_ = in_.size();
      co_await ParseFailureReply(http::ParseFailure::kHeadersTooLarge, "header section too large");
      co_return false;
    }
    std::size_t n = co_await DownRead(space, ec);
    if (ec) {
      head_consumed_ = in_.size();
      if (dl_.fired != TimeoutKind::kNone && in_.size() > 0) {
        co_await Reply(LocalReason::kRequestTimeout, "the request head did not arrive in time",
                       false);
      }
      co_return false;  // closed or timed out between requests: nothing to answer
    }
    in_.Commit(n);
  }
  // The whole head, and any body bytes that came with it, are now consumed from in_'s front;
  // in_ keeps them in place until the exchange ends (the head's views point there).
  st_->acct.bytes_in = consumed;
  head_consumed_ = consumed;
  co_return true;
}

asio::awaitable<bool> Session::ParseFailureReply(http::ParseFailure f, std::string_view detail) {
  co_return co_await Reply(FailureReason(f), detail, false);
}

asio::awaitable<bool> Session::Reply(LocalReason reason, std::string_view message,
                                     bool keep_alive) {
  worker_.stats().CountLocal(reason);
  co_return co_await LocalReply(observe::ReasonStatus(reason), observe::ReasonToken(reason),
                                message, keep_alive);
}

asio::awaitable<bool> Session::LocalReply(int status, std::string_view reason,
                                          std::string_view message, bool keep_alive,
                                          std::string_view extra_headers) {
  RequestState& st = *st_;
  if (st.ex.request_id.empty()) {
    auto id = NewRequestId();
    st.request_id_buf = id.text;
    st.ex.request_id = {st.request_id_buf.data(), st.request_id_buf.size()};
  }
  keep_alive = keep_alive && !worker_.draining();
  linger_ = !keep_alive;  // a refused request may have more input on its way
  http::BuildLocalReply(st.head_out, status, reason, message, st.ex.request_id, keep_alive,
                        extra_headers);
  // A response to HEAD has the headers of the GET answer and no body (RFC 9110 section 9.3.2).
  if (st.ex.method == "HEAD") st.head_out.resize(st.head_out.find("\r\n\r\n") + 4);
  SetDeadline(TimeoutKind::kSend,
              listener_ ? listener_->limits.send_timeout : std::chrono::seconds(10));
  error_code ec;
  asio::const_buffer b[1] = {asio::buffer(st.head_out)};
  co_await DownWrite(b, ec);
  ClearDeadline();
  st_->acct.bytes_out += st.head_out.size();
  Finish(status, reason);
  co_return keep_alive && !ec;
}

asio::awaitable<bool> Session::HandleRequest(http::h1::RequestParser& p) {
  ++requests_;
  worker_.stats().requests.Add();
  RequestState& st = *st_;
  Exchange& ex = st.ex;
  ex.method = p.method();
  ex.target = p.target();
  ex.version = p.version();
  ex.request_headers = &st.request_headers;
  ex.client_address = peer_address_;
  ex.client_port = peer_port_;
  ex.listener = listener_name_;
  ex.from_trusted_peer = trusted_peer_;
  ex.worker = worker_.index();
  ex.is_tls = tls_ != nullptr;
  ex.peer = tls_ ? &peer_identity_ : nullptr;
  std::string_view authority;
  http::SplitTarget(p.target(), authority, ex.path, ex.query);
  bool has_host = false;
  const std::string_view host_header = st.request_headers.Get("host", &has_host);
  // An absolute-form target's authority replaces Host (RFC 9112 section 3.2.2); both must be
  // valid whichever one is used.
  const bool bad_authority =
      (has_host && !http::IsValidAuthority(host_header)) ||
      (p.target()[0] != '/' && p.target() != "*" && !http::IsValidAuthority(authority));
  ex.authority = authority.empty() ? host_header : authority;
  ex.host = http::StripPort(ex.authority);
  std::string_view client_id;
  if (trusted_peer_) client_id = st.request_headers.Get(snap_->config.request_id_header);
  if (IsAcceptableRequestId(client_id)) {
    ex.request_id = client_id;
  } else {
    auto id = NewRequestId();
    st.request_id_buf = id.text;
    ex.request_id = {st.request_id_buf.data(), st.request_id_buf.size()};
  }
  gates_ran_ = 0;
  // A refused request keeps the connection only when its body was fully read.
  const bool can_keep = p.done() && p.keep_alive();
  if (bad_authority) {
    co_return co_await Reply(LocalReason::kBadRequest, "invalid Host or request-target authority",
                             false);
  }
  if (ex.path != "*" && http::HasDotSegment(ex.path)) {
    co_return co_await Reply(LocalReason::kBadRequest, "path has '.' or '..' segments", can_keep);
  }
  const CompiledRoute* route = snap_->router.Match(ex);
  if (route == nullptr) {
    co_return co_await Reply(LocalReason::kNoRoute, "no route matches this request", can_keep);
  }
  ex.route = route;
  if (!route->gates.empty()) {
    // The head is complete: its deadline no longer applies. A gate that waits bounds its own
    // wait (a store's timeout, a shaper's queue and max_delay).
    ClearDeadline();
    Decision d = co_await RunRequestGates(*route, ex, gates_ran_);
    if (d.kind == Decision::Kind::kDrop) {
      Finish(0, d.reason);
      RunCompleteGates(*route, ex, gates_ran_);
      co_return false;
    }
    if (d.kind == Decision::Kind::kRespond) {
      worker_.stats().CountLocal(LocalReason::kGate);
      ex.status = d.status;
      bool keep = co_await LocalReply(d.status, d.reason, d.message, can_keep, d.headers);
      RunCompleteGates(*route, ex, gates_ran_);
      co_return keep;
    }
  }
  bool keep = route->upstream->http2 ? co_await ProxyH2(p, *route) : co_await Proxy(p, *route);
  RunCompleteGates(*route, ex, gates_ran_);
  co_return keep;
}

asio::awaitable<bool> Session::Proxy(http::h1::RequestParser& p, const CompiledRoute& route) {
  RequestState& st = *st_;
  Exchange& ex = st.ex;
  const upstream::UpstreamSpec& up = *route.upstream;
  const config::ListenerLimits& limits = listener_->limits;
  error_code ec;

  // The upstream request head.
  http::UpstreamRequest ur = MakeUpstreamRequest(route, ex, *snap_, peer_ip_,
                                                 p.version() == 10 ? "1.0" : "1.1", st.scratch);
  ur.chunked = p.framing() == BodyFraming::kChunked;
  // WebSocket (RFC 6455 section 4): passed through only on routes that allow it; elsewhere the
  // Upgrade and Connection headers are hop-by-hop and dropped like any other.
  const bool websocket =
      route.config->websocket.enabled && IsWebSocketUpgrade(p, st.request_headers);
  if (websocket) ur.upgrade = "websocket";
  http::BuildUpstreamRequestHead(st.head_out, ur);

  const bool expect_continue = p.version() == 11 && !p.done() && p.body_bytes() == 0 &&
                               IEquals(st.request_headers.Get("expect"), "100-continue");
  const bool can_keep = p.done() && p.keep_alive();
  // The body bytes in st.body_out as they go upstream: chunk-framed when the client's were, the
  // last chunk once the request is done.
  auto frame_body = [&]() -> std::string_view {
    if (!ur.chunked) return st.body_out;
    st.scratch.clear();
    if (!st.body_out.empty()) http::AppendChunk(st.scratch, st.body_out);
    if (p.done()) st.scratch.append("0\r\n\r\n");
    return st.scratch;
  };

  // A chunk line cut off at the end of the head's read is completed before anything goes
  // upstream, so a malformed or oversized one is refused without the origin seeing the request.
  if (!co_await CompleteChunkLine(p)) co_return false;

  // Pick an endpoint and get a connection: pooled first, else a new one.
  UpstreamLease lease(worker_, up, st.acct, upstream_);
  std::unique_ptr<upstream::UpstreamConnection> conn;
  for (int attempt = 0;; ++attempt) {
    Acquired a = co_await lease.Acquire(dl_);
    conn = std::move(a.conn);
    const bool reused = a.reused;
    if (a.failure != ConnectFailure::kNone) {
      auto [reason, message] = lease.ConnectFailed(a.failure);
      co_return co_await Reply(reason, message, can_keep);
    }
    if (expect_continue && attempt == 0) {
      // The origin never sees Expect: rampart answers it once the request may proceed.
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::const_buffer b[1] = {asio::buffer(k100.data(), k100.size())};
      SetDeadline(TimeoutKind::kSend, limits.send_timeout);
      co_await DownWrite(b, ec);
      if (ec) co_return false;
    }
    SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
    asio::const_buffer b[2] = {asio::buffer(st.head_out), asio::buffer(frame_body())};
    co_await UpWrite(*conn, b, ec);
    if (!ec) break;
    if (reused && attempt == 0 && dl_.fired == TimeoutKind::kNone) {
      conn.reset();  // closed by the origin while idle: one retry on a new connection
      continue;
    }
    lease.Fail(dl_.fired == TimeoutKind::kUpstream ? observe::UpstreamError::kTimeout
                                                   : observe::UpstreamError::kReset);
    co_return co_await Reply(LocalReason::kUpstreamUnavailable,
                             "the upstream closed the connection", can_keep);
  }
  st.body_out.clear();

  // The rest of the request body, streamed as it arrives.
  bool request_sent = true;
  while (!p.done()) {
    // On failure the upstream connection is reset with its half-sent request.
    if (!co_await ReadBodyPiece(p)) {
      conn->Abort();
      co_return false;
    }
    if (!st.body_out.empty() || (ur.chunked && p.done())) {
      SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
      asio::const_buffer b[1] = {asio::buffer(frame_body())};
      co_await UpWrite(*conn, b, ec);
      st.body_out.clear();
      if (ec) {
        request_sent = false;  // the origin may have answered early and closed: read that answer
        break;
      }
    }
  }

  // The response head; interim 1xx responses are consumed here.
  const bool client11 = p.version() == 11;
  std::optional<http::h1::ResponseParser> rp;
  std::size_t rconsumed = 0;
  SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
  const HeadOutcome head = co_await ReadUpstreamHead(
      worker_, *conn, st, rp, rconsumed,
      {.rechunk = client11, .head_request = ex.method == "HEAD", .expect_switch = websocket});
  if (head == HeadOutcome::kClosed) {
    const bool timed_out = dl_.fired == TimeoutKind::kUpstream;
    lease.Fail(timed_out ? observe::UpstreamError::kTimeout : observe::UpstreamError::kReset);
    if (timed_out) {
      co_return co_await Reply(LocalReason::kUpstreamTimeout,
                               "the upstream did not respond in time", false);
    }
    co_return co_await Reply(LocalReason::kUpstreamUnavailable,
                             "the upstream closed the connection without a response", false);
  }
  if (head == HeadOutcome::kInvalid || head == HeadOutcome::kUnexpectedSwitch) {
    lease.Fail(observe::UpstreamError::kBadResponse);
    co_return co_await Reply(LocalReason::kUpstreamBadResponse,
                             head == HeadOutcome::kInvalid ? "the upstream sent an invalid response"
                                                           : "unexpected protocol switch",
                             false);
  }
  st.acct.upstream_end = worker_.now();
  ex.status = rp->status();
  RunResponseGates(route, ex, gates_ran_);
  if (websocket && rp->status() == 101) {
    co_await WebSocketTunnel(route, *conn, rconsumed);
    co_return false;
  }

  // Framing towards the client.
  const BodyFraming rf = rp->framing();
  using Framing = http::DownstreamResponse::Framing;
  Framing df = Framing::kAsIs;
  const bool wrap_chunks = rf == BodyFraming::kUntilClose && client11;
  if (rf == BodyFraming::kChunked || rf == BodyFraming::kUntilClose) {
    df = client11 ? Framing::kChunked : Framing::kClose;
  }
  const bool keep_alive =
      can_keep && request_sent && df != Framing::kClose && !worker_.draining() &&
      (limits.max_requests_per_connection == 0 || requests_ < limits.max_requests_per_connection);
  http::DownstreamResponse dr =
      MakeDownstreamResponse(route, ex, *snap_, rp->status(), st.response_headers);
  dr.framing = df;
  dr.keep_alive = keep_alive;
  dr.client_http10 = !client11;
  http::BuildDownstreamResponseHead(st.head_out, dr);
  st.up_in.Consume(rconsumed);  // the head's views are not used past this point

  auto write_body = [&](bool with_head) -> asio::awaitable<bool> {
    std::string* body = &st.resp_body_out;
    if (wrap_chunks && !st.resp_body_out.empty()) {
      st.scratch.clear();
      http::AppendChunk(st.scratch, st.resp_body_out);
      body = &st.scratch;
    }
    SetDeadline(TimeoutKind::kSend, limits.send_timeout);
    asio::const_buffer b[2] = {
        asio::buffer(with_head ? std::string_view(st.head_out) : std::string_view()),
        asio::buffer(*body)};
    error_code wec;
    st_->acct.bytes_out += b[0].size() + b[1].size();
    co_await DownWrite(b, wec);
    st.resp_body_out.clear();
    co_return !wec;
  };
  bool ok = co_await write_body(true);
  bool upstream_clean = true;
  while (ok && !rp->done()) {
    SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
    observe::UpstreamError error{};
    const BodyStep step = co_await ReadUpstreamBody(worker_, *conn, st, *rp, dl_, error);
    if (step == BodyStep::kFailed) {
      lease.Fail(error);
      ok = false;
      break;
    }
    if (step == BodyStep::kDoneAtClose) {
      if (wrap_chunks) {
        static constexpr std::string_view kLastChunk = "0\r\n\r\n";
        asio::const_buffer b[1] = {asio::buffer(kLastChunk.data(), kLastChunk.size())};
        SetDeadline(TimeoutKind::kSend, limits.send_timeout);
        co_await DownWrite(b, ec);
        ok = !ec;
      }
      upstream_clean = false;
      break;
    }
    if (!st.resp_body_out.empty()) ok = co_await write_body(false);
  }
  ClearDeadline();
  // Reuse the upstream connection only after a complete, well-framed exchange.
  if (ok && upstream_clean && request_sent && rp->done() && rp->keep_alive() && st.up_in.empty() &&
      rf != BodyFraming::kUntilClose) {
    lease.GiveBack(std::move(conn));
  }
  Finish(ex.status, ok ? std::string_view() : std::string_view("upstream_aborted"));
  co_return ok&& keep_alive;
}

asio::awaitable<bool> Session::CompleteChunkLine(http::h1::RequestParser& p) {
  constexpr std::size_t kMaxHeld = 64 * 1024;  // decoded body bytes held meanwhile
  TakeBodyLeftover();
  while (!p.done() && p.partial_chunk_line() && st_->body_out.size() < kMaxHeld) {
    if (!co_await ReadBodyPiece(p)) co_return false;
  }
  co_return true;
}

asio::awaitable<bool> Session::ReadBodyPiece(http::h1::RequestParser& p) {
  RequestState& st = *st_;
  TakeBodyLeftover();
  SetDeadline(TimeoutKind::kBody, listener_->limits.body_timeout);
  // Room for a whole trailer section: the parser waits for one before it consumes it (and bounds
  // chunk lines and trailers itself, so this never fills up with a request it would accept).
  auto space = st.aux.Prepare(
      kReadChunk,
      std::max(2 * kReadChunk,
               static_cast<std::size_t>(listener_->limits.max_header_bytes) + kReadChunk));
  if (space.empty()) {
    co_await ParseFailureReply(http::ParseFailure::kHeadersTooLarge, "trailer section too large");
    co_return false;
  }
  error_code ec;
  std::size_t n = co_await DownRead(space, ec);
  if (ec) {
    if (dl_.fired == TimeoutKind::kBody) {
      co_await Reply(LocalReason::kRequestTimeout, "the request body did not arrive in time",
                     false);
    } else {
      Finish(400, "client_closed");
    }
    co_return false;
  }
  st.acct.bytes_in += n;
  st.aux.Commit(n);
  st.aux.Consume(p.Feed(st.aux.data(), st.aux.size()));
  if (p.failure() != http::ParseFailure::kNone) {
    co_await ParseFailureReply(p.failure(), p.failure_detail());
    co_return false;
  }
  co_return true;
}

void Session::TakeBodyLeftover() {
  // The head's read may have ended inside the body (a chunk line cut in two): those bytes are
  // still in in_ past what the parser consumed, and the body continues in st_->aux after them.
  // in_ itself stays as it is: the head's views point into it.
  if (st_->parser->done() || in_.size() <= head_consumed_) return;
  const std::size_t n = in_.size() - head_consumed_;
  st_->aux.Append(in_.data() + head_consumed_, n, n);
  head_consumed_ = in_.size();
}

asio::awaitable<void> Session::WebSocketTunnel(const CompiledRoute& route,
                                               upstream::UpstreamConnection& up,
                                               std::size_t head_bytes) {
  RequestState& st = *st_;
  Exchange& ex = st.ex;
  error_code ec;
  http::DownstreamResponse dr = MakeDownstreamResponse(route, ex, *snap_, 101, st.response_headers);
  dr.upgrade = "websocket";
  dr.keep_alive = false;
  http::BuildDownstreamResponseHead(st.head_out, dr);
  st.up_in.Consume(head_bytes);  // what follows the 101 head is already WebSocket frames
  const auto idle = route.config->websocket.idle_timeout;
  SetDeadline(TimeoutKind::kSend, idle);
  asio::const_buffer b[2] = {asio::buffer(st.head_out),
                             asio::buffer(st.up_in.data(), st.up_in.size())};
  st_->acct.bytes_out += b[0].size() + b[1].size();
  co_await DownWrite(b, ec);
  st.up_in.Consume(st.up_in.size());
  if (!ec && in_.size() > head_consumed_) {  // frames the client sent right after its request
    asio::const_buffer early[1] = {
        asio::buffer(in_.data() + head_consumed_, in_.size() - head_consumed_)};
    st_->acct.bytes_in += early[0].size();
    co_await UpWrite(up, early, ec);
    head_consumed_ = in_.size();
  }
  if (!ec) {
    using namespace asio::experimental::awaitable_operators;
    co_await (Pump(true, up, idle) || Pump(false, up, idle));
  }
  ClearDeadline();
  error_code ignored;
  up.socket.close(ignored);
  Finish(101, dl_.fired == TimeoutKind::kIdle ? "websocket_idle" : std::string_view());
}

asio::awaitable<void> Session::Pump(bool from_client, upstream::UpstreamConnection& up,
                                    std::chrono::microseconds idle) {
  std::array<char, 16 * 1024> buf;
  for (;;) {
    // One deadline for both directions: a frame either way keeps the tunnel open.
    SetDeadline(TimeoutKind::kIdle, idle);
    error_code ec;
    std::size_t n = from_client ? co_await DownRead(buf, ec) : co_await UpRead(up, buf, ec);
    if (ec) break;
    asio::const_buffer b[1] = {asio::buffer(buf.data(), n)};
    if (from_client) {
      st_->acct.bytes_in += n;
      co_await UpWrite(up, b, ec);
    } else {
      st_->acct.bytes_out += n;
      co_await DownWrite(b, ec);
    }
    if (ec) break;
  }
  // Either side ending ends the tunnel: the other pump's pending read fails at once.
  error_code ignored;
  socket_.cancel(ignored);
  up.socket.cancel(ignored);
}

void Session::Finish(int status, std::string_view reason) {
  const std::string_view protocol = st_->ex.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  FinishExchange(worker_, snap_.get(), *st_, {peer_ip_, peer_port_, listener_name_, protocol},
                 status, reason);
}

}  // namespace rampart::server
