#include "net/h2_frame_io.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstring>

namespace rampart::net {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;

// Frames are gathered in the worker's one batch buffer, which every connection of the worker
// fills in turn and so stays in cache; only a write that has to wait moves its bytes to the
// connection's own buffer (nothing suspends between filling the batch and writing it).
thread_local std::string t_batch;
}  // namespace

std::string& FrameIo::batch() noexcept { return t_batch; }

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
    const ssize_t rv = Feed(session, data);
    pending.clear();
    if (rv < 0) co_return static_cast<long>(rv);
    Kick();
    if (!nghttp2_session_want_read(session) && !nghttp2_session_want_write(session)) co_return 0;
  }
}

ssize_t FrameIo::Feed(nghttp2_session* session, std::string_view data) {
  auto recv = [session](std::string_view d) -> ssize_t {
    if (d.empty()) return 0;
    return nghttp2_session_mem_recv(session, reinterpret_cast<const std::uint8_t*>(d.data()),
                                    d.size());
  };
  if (watch_ == nullptr) return recv(data);
  std::size_t fed = 0;
  std::size_t i = 0;
  while (i < data.size()) {
    if (skip_ > 0) {
      const std::size_t take = std::min(skip_, data.size() - i);
      i += take;
      skip_ -= take;
      continue;
    }
    const std::size_t start = i;  // this frame's header (or the rest of it) begins here
    const std::size_t take = std::min<std::size_t>(9 - header_len_, data.size() - i);
    std::memcpy(header_ + header_len_, data.data() + i, take);
    header_len_ = static_cast<std::uint8_t>(header_len_ + take);
    i += take;
    if (header_len_ < 9) break;
    header_len_ = 0;
    skip_ = (std::size_t{header_[0]} << 16) | (std::size_t{header_[1]} << 8) | header_[2];
    const std::uint8_t type = header_[3];
    if (type != NGHTTP2_DATA && type != NGHTTP2_HEADERS) continue;
    const auto id = static_cast<std::int32_t>(((std::uint32_t{header_[5]} << 24) |
                                               (std::uint32_t{header_[6]} << 16) |
                                               (std::uint32_t{header_[7]} << 8) | header_[8]) &
                                              0x7fffffffu);
    if (const ssize_t rv = recv(data.substr(fed, start - fed)); rv < 0) return rv;
    fed = start;
    watch_(watch_ctx_, type, id);
  }
  if (const ssize_t rv = recv(data.substr(fed)); rv < 0) return rv;
  return static_cast<ssize_t>(data.size());
}

void FrameIo::ReaderDone() noexcept {
  reader_done_ = true;
  Kick();
}

bool FrameIo::TryWriteBatch(const std::string& batch, error_code& ec) {
  if (tls_ != nullptr) {
    if (tls_->TryWrite(batch, ec)) return true;
    out_.assign(batch);  // OpenSSL is given the same bytes again, from here
    return false;
  }
  asio::const_buffer b[1] = {asio::buffer(batch)};
  if (net::WriteNow(socket_, nullptr, b, ec)) return true;
  out_.assign(static_cast<const char*>(b[0].data()), b[0].size());  // what the socket did not take
  return false;
}

asio::awaitable<void> FrameIo::Write(nghttp2_session* session,
                                     std::chrono::microseconds send_timeout) {
  std::string& batch = t_batch;
  error_code ec;
  for (;;) {
    batch.clear();
    while (batch.size() < kWriteBatch) {
      const std::uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session, &data);
      if (n <= 0) break;
      batch.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    }
    if (!batch.empty()) {
      send_dl_.Set(TimeoutKind::kSend, loop_.now(), send_timeout);
      if (!TryWriteBatch(batch, ec)) {
        asio::const_buffer b[1] = {asio::buffer(out_)};
        co_await WriteTo(loop_, socket_, tls_, b, ec);
        std::string().swap(out_);  // an idle connection holds no batch
      }
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
