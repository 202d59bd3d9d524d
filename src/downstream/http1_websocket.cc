// WebSocket over HTTP/1.1 (RFC 6455 section 4): after the origin's 101, the head goes to the
// client and bytes flow both ways untouched until either side closes or neither sends for the
// route's websocket.idle_timeout.
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "downstream/http1_connection.h"
#include "pipeline/upstream_request.h"
#include "server/worker.h"

namespace rampart::downstream {

namespace asio = boost::asio;
using boost::system::error_code;
using net::TimeoutKind;

asio::awaitable<std::string_view> Http1Exchange::Tunnel(upstream::Stream& up) {
  ExchangeState& st = *st_;
  Exchange& ex = st.ex;
  keep_alive_ = false;
  upstream::Stream::Tunnel t = up.TakeTunnel();
  if (t.socket == nullptr) co_return std::string_view("upstream_aborted");
  http::DownstreamResponse dr =
      MakeDownstreamResponse(*ex.route, ex, c_.snap_->site, 101, st.response_headers);
  dr.upgrade = "websocket";
  dr.keep_alive = false;
  http::BuildDownstreamResponseHead(st.head_out, dr);
  const auto idle = ex.route->config->websocket.idle_timeout;
  bool ok = co_await Write(st.head_out, t.early);  // what follows the 101 is already frames
  if (ok && c_.in_.size() > c_.head_consumed_) {   // frames the client sent right after its request
    asio::const_buffer early[1] = {
        asio::buffer(c_.in_.data() + c_.head_consumed_, c_.in_.size() - c_.head_consumed_)};
    st.acct.bytes_in += early[0].size();
    error_code ec;
    co_await net::WriteTo(c_.worker_.loop(), *t.socket, t.tls, early, ec);
    c_.head_consumed_ = c_.in_.size();
    ok = !ec;
  }
  if (ok) {
    using namespace asio::experimental::awaitable_operators;
    co_await (Pump(true, t, idle) || Pump(false, t, idle));
  }
  c_.ClearDeadline();
  error_code ignored;
  t.socket->close(ignored);
  co_return c_.dl_.fired == TimeoutKind::kIdle ? std::string_view("websocket_idle")
                                               : std::string_view();
}

asio::awaitable<void> Http1Exchange::Pump(bool from_client, upstream::Stream::Tunnel& up,
                                          std::chrono::microseconds idle) {
  std::array<char, 16 * 1024> buf;
  net::LoopContext& loop = c_.worker_.loop();
  for (;;) {
    // One deadline for both directions: a frame either way keeps the tunnel open.
    c_.SetDeadline(TimeoutKind::kIdle, idle);
    error_code ec;
    std::size_t n = from_client ? co_await c_.DownRead(buf, ec)
                                : co_await net::ReadFrom(loop, *up.socket, up.tls, buf, ec);
    if (ec) break;
    asio::const_buffer b[1] = {asio::buffer(buf.data(), n)};
    if (from_client) {
      st_->acct.bytes_in += n;
      co_await net::WriteTo(loop, *up.socket, up.tls, b, ec);
    } else {
      st_->acct.bytes_out += n;
      co_await c_.DownWrite(b, ec);
    }
    if (ec) break;
  }
  // Either side ending ends the tunnel: the other pump's pending read fails at once.
  error_code ignored;
  c_.socket_.cancel(ignored);
  up.socket->cancel(ignored);
}

}  // namespace rampart::downstream
