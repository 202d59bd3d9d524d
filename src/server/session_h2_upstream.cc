// Session::ProxyH2: an HTTP/1.1 request sent to an upstream with protocol: h2, as one stream on
// the worker's session to the endpoint. The response goes back with its Content-Length when the
// origin gave one, else chunked (HTTP/1.0 clients: until close); response trailers (gRPC's
// grpc-status) end the chunked body as its trailer section (RFC 9112 section 7.1.2).
#include <boost/asio.hpp>

#include "http/proxy_headers.h"
#include "http/request_target.h"
#include "pipeline/chain.h"
#include "server/h2/upstream_exchange.h"
#include "server/session.h"
#include "server/upstream_connect.h"
#include "server/upstream_request.h"
#include "server/worker.h"

namespace rampart::server {

namespace asio = boost::asio;
using boost::system::error_code;
using observe::LocalReason;

namespace {

void AppendLastChunk(std::string& out, const http::HeaderList& trailers) {
  out.append("0\r\n");
  for (const auto& f : trailers) {
    if (http::h2::IsForbiddenTrailer(f.name)) continue;
    out.append(f.name).append(": ").append(f.value).append("\r\n");
  }
  out.append("\r\n");
}

}  // namespace

asio::awaitable<bool> Session::ProxyH2(http::h1::RequestParser& p, const CompiledRoute& route) {
  RequestState& st = *st_;
  Exchange& ex = st.ex;
  const upstream::UpstreamSpec& up = *route.upstream;
  const config::ListenerLimits& limits = listener_->limits;
  error_code ec;
  if (!co_await CompleteChunkLine(p)) co_return false;  // as in Proxy

  h2::UpstreamFields uf;
  h2::MakeUpstreamFields(route, ex, *snap_, peer_ip_, p.version() == 10 ? "1.0" : "1.1", st, uf);
  const bool expect_continue = p.version() == 11 && !p.done() && p.body_bytes() == 0 &&
                               IEquals(st.request_headers.Get("expect"), "100-continue");
  const bool can_keep = p.done() && p.keep_alive();
  // The whole body is in hand (st.body_out): a stream the origin refused is sent once more.
  const bool whole = p.done();

  UpstreamLease lease(worker_, up, st.acct, upstream_);
  std::optional<h2::UpstreamStream> us;
  struct Unwatch {
    h2::UpstreamStream*& target;
    ~Unwatch() { target = nullptr; }
  } unwatch{h2_upstream_};
  h2::HeadWait head = h2::HeadWait::kRefused;
  bool request_sent = true;
  for (int attempt = 0; attempt < 2 && head == h2::HeadWait::kRefused; ++attempt) {
    h2_upstream_ = nullptr;
    us.reset();
    us.emplace(worker_.io(), st.response_headers);
    const ConnectFailure f = co_await lease.Open(*us, uf.fields, !whole || !st.body_out.empty());
    if (f != ConnectFailure::kNone) {
      auto [reason, message] = lease.ConnectFailed(f);
      co_return co_await Reply(reason, message, can_keep);
    }
    h2_upstream_ = &*us;
    if (expect_continue) {
      // The origin never sees Expect: rampart answers it once the request may proceed.
      static constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
      asio::const_buffer b[1] = {asio::buffer(k100.data(), k100.size())};
      SetDeadline(TimeoutKind::kSend, limits.send_timeout);
      co_await DownWrite(b, ec);
      if (ec) co_return false;
    }
    us->Write(st.body_out);
    if (!whole) st.body_out.clear();
    // The rest of the body, streamed as it arrives, held back while the origin's window is shut.
    while (!p.done()) {
      if (!co_await ReadBodyPiece(p)) co_return false;  // the stream is reset as `us` goes
      us->Write(st.body_out);
      st.body_out.clear();
      SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
      while (us->unsent() >= h2::UpstreamStream::kRequestHighWater && !us->failed() &&
             !us->ended() && dl_.fired != TimeoutKind::kUpstream) {
        co_await us->Wait();
      }
      if (us->failed() || us->ended() || dl_.fired == TimeoutKind::kUpstream) {
        request_sent = false;  // answered early, reset or stalled: read what the origin says
        break;
      }
    }
    if (request_sent) us->EndRequest();
    SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
    head = co_await h2::AwaitHead(*us, dl_);
    if (!whole) break;  // a refused stream whose body is gone cannot be sent again
  }
  st.body_out.clear();
  if (head != h2::HeadWait::kOk) {
    const h2::HeadFailure f = h2::DescribeHeadFailure(head);
    lease.Fail(f.error);
    co_return co_await Reply(f.reason, f.message, can_keep);
  }
  st.acct.upstream_end = worker_.now();
  const int status = us->status();
  ex.status = status;
  RunResponseGates(route, ex, gates_ran_);

  // Framing towards the client.
  const bool client11 = p.version() == 11;
  const bool no_body = ex.method == "HEAD" || status == 204 || status == 304;
  using Framing = http::DownstreamResponse::Framing;
  Framing df = Framing::kAsIs;
  if (!no_body && !us->has_content_length()) df = client11 ? Framing::kChunked : Framing::kClose;
  const bool keep_alive =
      can_keep && request_sent && df != Framing::kClose && !worker_.draining() &&
      (limits.max_requests_per_connection == 0 || requests_ < limits.max_requests_per_connection);
  http::DownstreamResponse dr =
      MakeDownstreamResponse(route, ex, *snap_, status, st.response_headers);
  dr.received_protocol = "2";
  dr.framing = df;
  dr.keep_alive = keep_alive;
  dr.client_http10 = !client11;
  http::BuildDownstreamResponseHead(st.head_out, dr);

  // The body as DATA arrives; each piece's window is given back once the client has it.
  bool ok = true;
  bool head_written = false;
  std::string& piece = st.resp_body_out;
  for (;;) {
    const bool end = us->ended();
    piece.clear();
    piece.swap(us->body());
    const std::size_t n = piece.size();
    std::string& out = st.scratch;
    out.clear();
    if (!head_written) out.append(st.head_out);
    if (!no_body && n > 0) {
      if (df == Framing::kChunked)
        http::AppendChunk(out, piece);
      else
        out.append(piece);
    }
    if (end && df == Framing::kChunked) AppendLastChunk(out, us->trailers());
    if (!out.empty()) {
      SetDeadline(TimeoutKind::kSend, limits.send_timeout);
      asio::const_buffer b[1] = {asio::buffer(out)};
      st.acct.bytes_out += out.size();
      co_await DownWrite(b, ec);
      head_written = true;
      if (ec) {
        ok = false;
        break;
      }
    }
    us->Consume(n);
    if (end) break;
    if (us->failed()) {
      lease.Fail(observe::UpstreamError::kReset);
      ok = false;
      break;
    }
    if (us->body().empty()) {
      SetDeadline(TimeoutKind::kUpstream, up.response_timeout);
      co_await us->Wait();
      if (dl_.fired == TimeoutKind::kUpstream && us->body().empty() && !us->ended()) {
        lease.Fail(observe::UpstreamError::kTimeout);
        ok = false;
        break;
      }
    }
  }
  ClearDeadline();
  Finish(ex.status, ok ? std::string_view() : std::string_view("upstream_aborted"));
  co_return ok&& keep_alive;
}

}  // namespace rampart::server
