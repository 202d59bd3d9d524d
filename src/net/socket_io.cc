#include "net/socket_io.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

namespace rampart::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
}  // namespace

void SetUpConnection(tcp::socket& s) {
  error_code ec;
  s.non_blocking(true, ec);
  s.set_option(tcp::no_delay(true), ec);
  EnableDrainedRecv(s);
}

asio::awaitable<std::size_t> ReadFrom(LoopContext& w, tcp::socket& s, TlsStream* tls,
                                      std::span<char> into, error_code& ec) {
  if (tls) {
    std::size_t n = co_await tls->ReadSome(into, ec);
    w.RefreshNow();
    co_return n;
  }
  auto [rec, n] = co_await AsyncDrainedRecv(w.reactor(), s, SpanTarget{into}, kUseAwaitable);
  w.RefreshNow();
  ec = rec;
  co_return n;
}

namespace {

asio::awaitable<ReadResult> TlsReadInto(TlsStream& tls, IoBuffer& buf, std::size_t min,
                                        std::size_t max_total) {
  const std::span<char> space = buf.Prepare(min, max_total);
  if (space.empty()) co_return ReadResult{asio::error::no_buffer_space, 0};
  error_code ec;
  const std::size_t n = co_await tls.ReadSome(space, ec);
  if (!ec) buf.Commit(n);
  co_return ReadResult{ec, n};
}

}  // namespace

asio::awaitable<ReadResult> ReadInto(Reactor& reactor, tcp::socket& s, TlsStream* tls,
                                     IoBuffer& buf, std::size_t min, std::size_t max_total) {
  if (tls) return TlsReadInto(*tls, buf, min, max_total);
  buf.ReleaseIfEmpty();
  return AsyncDrainedRecv(reactor, s, BufferTarget{&buf, min, max_total}, kUseAwaitable);
}

bool WriteNow(tcp::socket& s, TlsStream* tls, std::span<asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  if (tls) return false;
  std::size_t first = 0;
  while (first < bufs.size() && bufs[first].size() == 0) ++first;
  while (first < bufs.size()) {
    std::size_t n = s.write_some(bufs.subspan(first), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      ec = {};
      return false;
    }
    if (ec) return true;
    while (n > 0 && first < bufs.size()) {
      std::size_t take = std::min(n, bufs[first].size());
      bufs[first] += take;
      n -= take;
      if (bufs[first].size() == 0) ++first;
    }
    while (first < bufs.size() && bufs[first].size() == 0) ++first;
  }
  return true;
}

asio::awaitable<void> WriteTo(LoopContext& w, tcp::socket& s, TlsStream* tls,
                              std::span<asio::const_buffer> bufs, error_code& ec) {
  if (tls) {
    co_await tls->Write(bufs, ec);
    w.RefreshNow();
    co_return;
  }
  std::size_t first = 0;
  while (first < bufs.size() && bufs[first].size() == 0) ++first;
  while (first < bufs.size()) {
    std::size_t n = s.write_some(bufs.subspan(first), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      // Socket buffer full: let Asio queue the write (EPOLLOUT is registered once per socket).
      auto [wec, wn] = co_await s.async_write_some(bufs.subspan(first), kUseAwaitable);
      w.RefreshNow();
      ec = wec;
      n = wn;
    }
    if (ec) co_return;
    while (n > 0 && first < bufs.size()) {
      std::size_t take = std::min(n, bufs[first].size());
      bufs[first] += take;
      n -= take;
      if (bufs[first].size() == 0) ++first;
    }
    while (first < bufs.size() && bufs[first].size() == 0) ++first;
  }
  ec = {};
}

}  // namespace rampart::net
