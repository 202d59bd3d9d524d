#include "net/h2_frame_io.h"

#include <boost/asio.hpp>

namespace rampart::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kWriteBatch = 64 * 1024;
}  // namespace

FrameIo::FrameIo(LoopContext& loop, asio::ip::tcp::socket& socket, TlsStream* tls)
    : loop_(loop), socket_(socket), tls_(tls), wake_(socket.get_executor()) {}

asio::awaitable<long> FrameIo::Read(nghttp2_session* session, std::string pending) {
  std::string buf;
  buf.resize(kReadChunk);
  error_code ec;
  for (;;) {
    std::string_view data = pending;
    if (data.empty()) {
      std::size_t n = co_await ReadFrom(loop_, socket_, tls_, buf, ec);
      if (ec) co_return 0;
      data = std::string_view(buf.data(), n);
    }
    const ssize_t rv = nghttp2_session_mem_recv(
        session, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
    pending.clear();
    if (rv < 0) co_return static_cast<long>(rv);
    Kick();
    if (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session)) co_return 0;
  }
}

void FrameIo::ReaderDone() noexcept {
  reader_done_ = true;
  Kick();
}

asio::awaitable<void> FrameIo::Write(nghttp2_session* session,
                                     std::chrono::microseconds send_timeout) {
  error_code ec;
  for (;;) {
    out_.clear();
    while (out_.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!out_.empty()) {
      send_dl_.Set(TimeoutKind::kSend, loop_.now(), send_timeout);
      asio::const_buffer b[1] = {asio::buffer(out_)};
      co_await WriteTo(loop_, socket_, tls_, b, ec);
      send_dl_.Clear();
      if (ec) break;
      continue;
    }
    const bool done = !nghttp2_session_want_read(session) && !nghttp2_session_want_write(session);
    if (done || reader_done_) break;
    writer_waiting_ = true;
    wake_.expires_at(SteadyTime::max());
    co_await wake_.async_wait(kUseAwaitable);
    writer_waiting_ = false;
  }
  // Nothing more will be written: end the reader too (it may wait on a silent peer).
  error_code ignored;
  socket_.cancel(ignored);
}

void FrameIo::Kick() noexcept {
  if (writer_waiting_) wake_.cancel();
}

void FrameIo::CheckDeadline(SteadyTime now) noexcept {
  if (send_dl_.Expire(now)) {
    error_code ec;
    socket_.cancel(ec);
  }
}

}  // namespace rampart::net
