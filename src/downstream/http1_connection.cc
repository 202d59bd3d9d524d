#include "downstream/http1_connection.h"

#include "core/request_id.h"
#include "core/strings.h"
#include "downstream/http2_connection.h"
#include "downstream/proxy_header_read.h"
#include "http/client_address.h"
#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "net/tls/alpn.h"
#include "pipeline/client_ip.h"
#include "server/worker.h"

namespace rampart::downstream {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;
using net::TimeoutKind;
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

// A complete first line that is not shaped like an HTTP/1 request line: the peer speaks neither
// HTTP/1.1 nor (correctly) HTTP/2. On a listener that also takes prior-knowledge h2c, that is an
// invalid connection preface (RFC 9113 section 3.4), answered with GOAWAY(PROTOCOL_ERROR). A line
// whose target looks like one (it starts with '/', a backslash, '*' or "http") or that names an
// HTTP version (`GET / HTTP/2.0`, `GET / 1.1`, `GET / JUNK/1.0`) is HTTP/1's to refuse: 400.
bool CompleteLineNotHttp1Shaped(std::string_view in) {
  // Empty lines before a request are allowed (RFC 9112 section 2.2); so are blanks at its end
  // here, where only the line's shape matters.
  while (in.starts_with("\r\n") || in.starts_with("\n")) in.remove_prefix(in[0] == '\r' ? 2 : 1);
  const std::size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return false;
  std::string_view line = in.substr(0, eol);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
    line.remove_suffix(1);
  const std::size_t last = line.rfind(' ');
  if (IStartsWith(line.substr(last == std::string_view::npos ? 0 : last + 1), "HTTP")) return false;
  const std::size_t first = line.find(' ');
  if (first == std::string_view::npos) return true;
  const std::string_view target = line.substr(first + 1);
  return !(target.starts_with('/') || target.starts_with('\\') || target.starts_with('*') ||
           IStartsWith(target, "http"));
}

http::h1::ParserLimits RequestLimits(const config::ListenerLimits& l) {
  return {l.max_request_line_bytes, l.max_header_bytes, l.max_headers, l.max_body_bytes};
}

}  // namespace

Http1Connection::Http1Connection(server::Worker& worker, tcp::socket socket,
                                 const tcp::endpoint& peer, std::string listener)
    : worker_(worker),
      socket_(std::move(socket)),
      listener_name_(std::move(listener)),
      in_(worker.buffers()) {
  const tcp::endpoint& ep = peer;  // from accept(): no getpeername() per connection
  peer_address_ = Unmapped(ep.address());
  peer_port_ = ep.port();
  peer_ip_ = peer_address_.to_string();
  net::SetUpConnection(socket_);
  worker_.Register(this);
  auto& stats = worker_.stats();
  stats.connections_accepted.Add();
  stats.connections_active.store(stats.connections_active.load(std::memory_order_relaxed) + 1,
                                 std::memory_order_relaxed);
  Adopt(worker_.snapshot());
}

Http1Connection::~Http1Connection() {
  if (limiter_) limiter_->Release(ticket_);
  if (st_) worker_.GiveExchangeState(std::move(st_));
  worker_.Unregister(this);
  auto& stats = worker_.stats();
  stats.connections_active.store(stats.connections_active.load(std::memory_order_relaxed) - 1,
                                 std::memory_order_relaxed);
}

void Http1Connection::Adopt(std::shared_ptr<const server::Snapshot> snap) {
  snap_ = std::move(snap);
  listener_ = snap_ ? snap_->FindListener(listener_name_) : nullptr;
  edge_ = nullptr;
  if (listener_ != nullptr) {
    if (auto it = snap_->listener_edges.find(listener_name_); it != snap_->listener_edges.end()) {
      edge_ = &it->second;
      // The same limiter in every snapshot of this listener (kept for the ticket's release).
      if (!limiter_) limiter_ = edge_->limiter;
    }
  }
  trusted_peer_ =
      listener_ && !relayed_without_address_ && listener_->trusted_proxies.Contains(peer_address_);
}

void Http1Connection::SetDeadline(TimeoutKind kind, std::chrono::microseconds d) noexcept {
  dl_.Set(kind, worker_.now(), d);
}

void Http1Connection::CheckDeadline(SteadyTime now) noexcept {
  if (h2_) h2_->CheckDeadlines(now);
  if (!dl_.Expire(now)) return;
  if (edge_) edge_->counters.CountExpired(dl_.fired, worker_.index());
  error_code ec;
  socket_.cancel(ec);
  if (upstream::Stream* s = exchange_.watched()) s->Cancel();
}

void Http1Connection::CloseIfIdle() noexcept {
  if (h2_) {
    h2_->Drain();
    return;
  }
  if (!idle_) return;
  error_code ec;
  socket_.cancel(ec);
}

asio::awaitable<std::size_t> Http1Connection::DownRead(std::span<char> into, error_code& ec) {
  return net::ReadFrom(worker_.loop(), socket_, tls_.get(), into, ec);
}

asio::awaitable<void> Http1Connection::DownWrite(std::span<asio::const_buffer> bufs,
                                                 error_code& ec) {
  return net::WriteTo(worker_.loop(), socket_, tls_.get(), bufs, ec);
}

asio::awaitable<bool> Http1Connection::Handshake(tls::TlsSlot& slot) {
  tls_ctx_ = slot.current();
  tls_ = std::make_unique<net::TlsStream>(socket_, worker_.reactor(), worker_.buffers(),
                                          tls_ctx_->default_context().native_handle(),
                                          net::TlsStream::Role::kServer);
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

bool Http1Connection::RefuseConnection(ConnectionRefusal why) noexcept {
  if (edge_) edge_->counters.refused[static_cast<std::size_t>(why)]->Add(worker_.index());
  return false;
}

bool Http1Connection::AdmitGlobal() noexcept {
  if (edge_ == nullptr) return true;
  if (edge_->limiter->AdmitGlobal(listener_->connections, ticket_) ==
      gates::ConnectionVerdict::kAdmitted)
    return true;
  return RefuseConnection(ConnectionRefusal::kMaxConnections);
}

bool Http1Connection::AdmitSource() {
  if (edge_ == nullptr) return true;
  switch (
      edge_->limiter->AdmitSource(listener_->connections, peer_address_, worker_.now(), ticket_)) {
    case gates::ConnectionVerdict::kAdmitted:
      return true;
    case gates::ConnectionVerdict::kMaxPerSource:
      return RefuseConnection(ConnectionRefusal::kMaxPerSource);
    case gates::ConnectionVerdict::kRatePerSource:
      return RefuseConnection(ConnectionRefusal::kRatePerSource);
    case gates::ConnectionVerdict::kMaxConnections:
      return RefuseConnection(ConnectionRefusal::kMaxConnections);
  }
  return true;
}

asio::awaitable<bool> Http1Connection::AcceptProxyHeader() {
  auto refuse = [&](ConnectionRefusal why) { return RefuseConnection(why); };
  if (!listener_->proxy_protocol_from.Contains(peer_address_))
    co_return refuse(ConnectionRefusal::kProxyUntrusted);
  SetDeadline(TimeoutKind::kHeader, listener_->limits.header_timeout);
  net::ProxyHeader h;
  const ProxyReadResult r = co_await ReadProxyHeader(socket_, h);
  worker_.RefreshNow();
  const bool timed_out = dl_.fired != TimeoutKind::kNone;
  ClearDeadline();
  if (r.status != ProxyReadStatus::kOk) {
    if (r.status == ProxyReadStatus::kMalformed) {
      spdlog::debug("listener '{}': PROXY header from {}: {}", listener_name_, peer_ip_, r.error);
      co_return refuse(ConnectionRefusal::kProxyMalformed);
    }
    if (timed_out) co_return refuse(ConnectionRefusal::kProxyTimeout);
    co_return false;  // the peer went away
  }
  ProxyHeaderResult result = ProxyHeaderResult::kUnknown;
  // Without an address from the header, the peer is the balancer, but what it relays is the
  // client's own bytes (an L4 balancer passes X-Forwarded-For through): never a trusted chain.
  trusted_peer_ = false;
  relayed_without_address_ = h.kind != net::ProxyHeader::Kind::kProxy;
  if (h.kind == net::ProxyHeader::Kind::kProxy) {
    result = ProxyHeaderResult::kProxy;
    peer_address_ = Unmapped(h.source);
    peer_port_ = h.source_port;
    peer_ip_ = peer_address_.to_string();
    trusted_peer_ = listener_->trusted_proxies.Contains(peer_address_);
  } else if (h.kind == net::ProxyHeader::Kind::kLocal) {
    result = ProxyHeaderResult::kLocal;
  }
  if (edge_ && edge_->counters.proxy_headers[static_cast<std::size_t>(result)])
    edge_->counters.proxy_headers[static_cast<std::size_t>(result)]->Add(worker_.index());
  co_return true;
}

asio::awaitable<void> Http1Connection::Loop(
    std::unique_ptr<Http1Connection> /*self: owned by this frame*/) {
  if (listener_ != nullptr) {
    // Before anything else, TLS included: the listener's cap, the balancer's header that names
    // the client, then the client's own caps. A refusal closes without a byte.
    bool admitted = AdmitGlobal();
    if (admitted && listener_->proxy_protocol) admitted = co_await AcceptProxyHeader();
    if (admitted && snap_->site.blackhole != nullptr &&
        snap_->site.blackhole->Holds(peer_address_, worker_.now()))
      admitted = RefuseConnection(ConnectionRefusal::kBlackholed);
    if (admitted && edge_ && edge_->ip_list && edge_->ip_list->Denies(peer_address_))
      admitted = RefuseConnection(ConnectionRefusal::kIpDenied);
    if (admitted) admitted = AdmitSource();
    if (!admitted) {
      // The place goes back before the client can see the close (and connect again).
      if (limiter_) limiter_->Release(ticket_);
      error_code ec;
      socket_.close(ec);
      co_return;
    }
  }
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
    co_await HandleRequest();
    const bool keep_alive = exchange_.keep_alive();
    // Unread input when we close would make the kernel answer it with RST (see LingeringClose).
    const bool unread_input =
        !st_->parser->done() || in_.size() > head_consumed_ || !st_->aux.empty();
    in_.Consume(head_consumed_);
    head_consumed_ = 0;
    // Bytes read past this request's end (pipelining) go back to the front buffer.
    if (!st_->aux.empty()) in_.Append(st_->aux.data(), st_->aux.size(), st_->aux.size());
    worker_.GiveExchangeState(std::move(st_));
    if (!keep_alive) {
      if (unread_input || exchange_.linger()) co_await LingeringClose();
      break;
    }
  }
  error_code ec;
  socket_.close(ec);
}

asio::awaitable<void> Http1Connection::ServeHttp2(std::string_view already_read) {
  Peer peer{peer_address_, peer_port_, peer_ip_, tls_ ? &peer_identity_ : nullptr, tls_ != nullptr};
  h2_ = std::make_unique<Http2Connection>(worker_, socket_, tls_.get(), listener_name_, peer);
  co_await h2_->Serve(already_read);
  h2_.reset();
}

asio::awaitable<void> Http1Connection::LingeringClose() {
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
    std::size_t n = co_await net::ReadFrom(worker_.loop(), socket_, nullptr,
                                           std::span<char>(sink, sizeof(sink)), ec);
    if (ec) break;
    total += n;
  }
  ClearDeadline();
}

asio::awaitable<bool> Http1Connection::ReadHead() {
  // A reload may have landed while the connection waited: nothing of the old snapshot may be
  // held across Adopt(), which can free it.
  if (snap_ != worker_.snapshot()) Adopt(worker_.snapshot());
  if (listener_ == nullptr) co_return false;  // the listener was removed by a reload
  error_code ec;
  const config::ListenerLimits& limits = listener_->limits;  // stable until the next Adopt()
  linger_ = false;
  st_ = worker_.TakeExchangeState();
  dl_.fired = TimeoutKind::kNone;
  SetDeadline(TimeoutKind::kHeader, limits.header_timeout);
  st_->ex.Reset();
  st_->acct.Reset();
  st_->ex.start = worker_.now();
  std::optional<http::h1::RequestParser>& parser = st_->parser;
  parser.emplace(RequestLimits(listener_->limits), st_->request_headers, st_->body);
  // Body bytes come out decoded; the upstream stream frames them again for its protocol.
  parser->set_rechunk(false);
  std::size_t consumed = 0;
  const std::size_t max_total = limits.max_header_bytes + kReadChunk;
  const bool h2c = requests_ == 0 && !tls_ && listener_->http2.enabled;
  for (;;) {
    // Prior-knowledge h2c (RFC 9113 section 3.3): the connection preface instead of a request.
    if (h2c && consumed == 0 && std::string_view(in_.data(), in_.size()).starts_with("PRI ")) {
      worker_.GiveExchangeState(std::move(st_));
      ClearDeadline();
      h2c_preface_ = true;
      co_return false;
    }
    if (in_.size() > consumed)
      consumed += parser->Feed(in_.data() + consumed, in_.size() - consumed);
    if (parser->failure() != http::ParseFailure::kNone) {
      if (h2c && CompleteLineNotHttp1Shaped({in_.data(), in_.size()})) {
        worker_.GiveExchangeState(std::move(st_));  // nghttp2 refuses the preface
        ClearDeadline();
        h2c_preface_ = true;
        co_return false;
      }
      head_consumed_ = in_.size();
      co_await RefuseHead(FailureReason(parser->failure()), parser->failure_detail());
      co_return false;
    }
    if (parser->header_done()) break;
    auto space = in_.Prepare(4096, max_total);
    if (space.empty()) {
      head_consumed_ = in_.size();
      co_await RefuseHead(LocalReason::kHeadersTooLarge, "header section too large");
      co_return false;
    }
    std::size_t n = co_await DownRead(space, ec);
    if (ec) {
      head_consumed_ = in_.size();
      if (dl_.fired != TimeoutKind::kNone && in_.size() > 0) {
        co_await RefuseHead(LocalReason::kRequestTimeout,
                            "the request head did not arrive in time");
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

asio::awaitable<void> Http1Connection::RefuseHead(LocalReason reason, std::string_view message) {
  ExchangeState& st = *st_;
  const int status = observe::ReasonStatus(reason);
  const std::string_view token = observe::ReasonToken(reason);
  if (snap_) snap_->local_replies.Count(worker_.index(), token);
  if (st.ex.request_id.empty()) {
    st.request_id_buf = NewRequestId().text;
    st.ex.request_id = {st.request_id_buf.data(), st.request_id_buf.size()};
  }
  linger_ = true;  // a refused head may have more input on its way
  http::BuildLocalReply(st.head_out, status, token, message, st.ex.request_id, false, {});
  SetDeadline(TimeoutKind::kSend,
              listener_ ? listener_->limits.send_timeout : std::chrono::seconds(10));
  error_code ec;
  asio::const_buffer b[1] = {asio::buffer(st.head_out)};
  co_await DownWrite(b, ec);
  ClearDeadline();
  st.acct.bytes_out += st.head_out.size();
  FinishExchange(worker_.loop(), worker_.index(), snap_ ? &snap_->site : nullptr,
                 worker_.access_log(), st, {peer_ip_, peer_port_, listener_name_, "HTTP/1.1"},
                 status, token);
}

ForwardEnv Http1Connection::Env() {
  const std::string_view protocol = st_->ex.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  return ForwardEnv{worker_.loop(),
                    worker_.index(),
                    snap_->site,
                    worker_.stats(),
                    worker_.access_log(),
                    worker_.pools(),
                    {peer_ip_, peer_port_, listener_name_, protocol},
                    peer_ip_,
                    nullptr,
                    &listener_->limits,
                    &worker_.background()};
}

asio::awaitable<void> Http1Connection::HandleRequest() {
  ++requests_;
  worker_.stats().requests.Add();
  ExchangeState& st = *st_;
  http::h1::RequestParser& p = *st.parser;
  Exchange& ex = st.ex;
  ex.method = p.method();
  ex.target = p.target();
  ex.version = p.version();
  ex.request_headers = &st.request_headers;
  ex.client_port = peer_port_;
  ex.listener = listener_name_;
  ex.from_trusted_peer = trusted_peer_;
  ResolveClientIp(st, *listener_, peer_address_, trusted_peer_);
  ex.worker = worker_.index();
  ex.is_tls = tls_ != nullptr;
  ex.peer = tls_ ? &peer_identity_ : nullptr;
  std::string_view authority;
  http::SplitTarget(p.target(), authority, ex.path, ex.query);
  if (http::NormalizePath(ex.path, st.path)) ex.path = st.path;
  bool has_host = false;
  const std::string_view host_header = st.request_headers.Get("host", &has_host);
  // An absolute-form target's authority replaces Host (RFC 9112 section 3.2.2); both must be
  // valid whichever one is used.
  const bool bad_authority =
      (has_host && !http::IsValidAuthority(host_header)) ||
      (p.target()[0] != '/' && p.target() != "*" && !http::IsValidAuthority(authority));
  ex.authority = authority.empty() ? host_header : authority;
  ex.host = http::RouteHost(ex.authority);
  std::string_view client_id;
  if (trusted_peer_) client_id = st.request_headers.Get(snap_->config.request_id_header);
  if (IsAcceptableRequestId(client_id)) {
    ex.request_id = client_id;
  } else {
    st.request_id_buf = NewRequestId().text;
    ex.request_id = {st.request_id_buf.data(), st.request_id_buf.size()};
  }
  exchange_.Begin(st);
  ForwardEnv env = Env();
  http::ExchangeError body_error;
  if (!bad_authority && exchange_.ChunkLineCut())
    body_error = co_await exchange_.CompleteChunkLine();
  if (body_error) {
    exchange_.CloseAfter();
    if (body_error.status() == 0) {  // the client left
      FinishExchange(worker_.loop(), worker_.index(), &snap_->site, worker_.access_log(), st,
                     env.conn, 400, body_error.token());
    } else {
      co_await Refuse(exchange_, st, env, body_error.status(), body_error.token(),
                      body_error.message());
    }
  } else if (bad_authority) {
    exchange_.CloseAfter();
    co_await Refuse(exchange_, st, env, 400, "bad_request",
                    "invalid Host or request-target authority");
  } else if (const std::string_view problem = http::PathProblem(ex.method, ex.path);
             !problem.empty()) {
    co_await Refuse(exchange_, st, env, 400, "bad_request", problem);
  } else if (http::IsTraceMethod(ex.method)) {
    co_await Refuse(exchange_, st, env, 405, "method_not_allowed", "TRACE is not forwarded");
  } else {
    co_await Forward(exchange_, st, env);
  }
  ClearDeadline();
}

}  // namespace rampart::downstream
