#include "upstream/connect.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>

#include "net/socket_io.h"
#include "net/tls/client_tls.h"

namespace rampart::upstream {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using http::Step;

asio::awaitable<ExchangeError> Connect(net::LoopContext& loop, const UpstreamSpec& up,
                                       const EndpointSpec& ep, UpstreamConnection& conn,
                                       net::Deadline& dl) {
  constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
  auto fail = [](ErrorKind k) { return ExchangeError::Upstream(k, Step::kConnect, false, true); };
  dl.Set(net::TimeoutKind::kConnect, loop.now(), up.connect_timeout);
  auto [cec] = co_await conn.socket.async_connect(ep.address, kUseAwaitable);
  loop.RefreshNow();
  if (cec) {
    co_return fail(dl.fired == net::TimeoutKind::kConnect ? ErrorKind::kConnectTimeout
                                                          : ErrorKind::kConnectRefused);
  }
  net::SetUpConnection(conn.socket);
  if (!up.tls) co_return ExchangeError{};
  conn.tls =
      std::make_unique<net::TlsStream>(conn.socket, loop.reactor(), loop.buffers(),
                                       up.tls->native_handle(), net::TlsStream::Role::kClient);
  boost::system::error_code hec = asio::error::no_memory;
  if (conn.tls->ok() && tls::PrepareClientConnection(conn.tls->native_handle(), ep.tls_name))
    hec = co_await conn.tls->Handshake();
  loop.RefreshNow();
  if (!hec) co_return ExchangeError{};
  if (dl.fired == net::TimeoutKind::kConnect) co_return fail(ErrorKind::kConnectTimeout);
  spdlog::warn("upstream '{}' {}: TLS handshake failed: {}", up.name, ep.key, hec.message());
  co_return fail(ErrorKind::kTls);
}

}  // namespace rampart::upstream
