// The two coroutines that move bytes between a socket (TLS or not) and an nghttp2 session, for
// server connections and upstream client sessions alike: the reader feeds nghttp2 what arrives,
// the writer sends what nghttp2 has to say, waking when Kick() says there is more.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "net/deadline.h"
#include "net/socket_io.h"

namespace rampart::net {

class FrameIo {
 public:
  FrameIo(LoopContext& loop, boost::asio::ip::tcp::socket& socket, TlsStream* tls);

  // Feeds nghttp2 `pending`, then what the socket delivers, until the socket ends or nghttp2
  // fails; returns nghttp2's error (negative), else 0. The caller reacts to an error (GOAWAY),
  // then calls ReaderDone().
  boost::asio::awaitable<long> Read(nghttp2_session* session, std::string pending);
  void ReaderDone() noexcept;
  // Sends nghttp2's output until it wants nothing more, the reader is done, or a write fails;
  // a write that makes no progress for `send_timeout` (CheckDeadline) ends it. On return the
  // socket's reads are cancelled too.
  boost::asio::awaitable<void> Write(nghttp2_session* session,
                                     std::chrono::microseconds send_timeout);
  // Output is pending: wakes the writer.
  void Kick() noexcept;
  // The owner's tick: a write stalled past send_timeout is cancelled.
  void CheckDeadline(SteadyTime now) noexcept;
  bool reader_done() const noexcept { return reader_done_; }
  // The worker's batch that Write is gathering: a server session's send_data callback (DATA
  // frames whose payload the owner copies itself, NGHTTP2_DATA_FLAG_NO_COPY) appends the frame to
  // it. nghttp2 calls that callback only inside Write's nghttp2_session_mem_send, in frame order,
  // and goes on to the next frame in the same call: the callback returns NGHTTP2_ERR_PAUSE once
  // the batch holds kWriteBatch bytes (batch_full), so Write sends it before nghttp2 packs more.
  static constexpr std::size_t kWriteBatch = 64 * 1024;
  static std::string& batch() noexcept;
  static bool batch_full() noexcept { return batch().size() >= kWriteBatch; }
  // Client sessions: TLS is set up after construction, before Read and Write start.
  void set_tls(TlsStream* tls) noexcept { tls_ = tls; }

  // Server connections: `fn(ctx, type, stream_id)` sees each DATA and HEADERS frame's header
  // after nghttp2 has processed every byte before it and before nghttp2 sees the frame, so the
  // owner can judge the frame against the stream's state then (nghttp2 drops DATA on streams it
  // no longer holds without a callback). The 24-byte client preface comes first.
  using FrameWatch = void (*)(void* ctx, std::uint8_t type, std::int32_t stream_id);
  void set_frame_watch(FrameWatch fn, void* ctx) noexcept {
    watch_ = fn;
    watch_ctx_ = ctx;
    skip_ = 24;
  }

 private:
  LoopContext& loop_;
  boost::asio::ip::tcp::socket& socket_;
  TlsStream* tls_;
  boost::asio::steady_timer wake_;
  bool writer_waiting_ = false;
  bool reader_done_ = false;
  std::string out_;  // a batch whose write had to wait
  // Writes `batch` if the socket takes it now; else keeps what is left in out_ and returns false.
  bool TryWriteBatch(const std::string& batch, boost::system::error_code& ec);
  Deadline send_dl_;
  // Feeds nghttp2 `data`, pausing at each watched frame header: nghttp2's result.
  ssize_t Feed(nghttp2_session* session, std::string_view data);
  FrameWatch watch_ = nullptr;
  void* watch_ctx_ = nullptr;
  std::size_t skip_ = 0;  // bytes of the current frame's payload (or the preface) still to come
  std::uint8_t header_[9] = {};
  std::uint8_t header_len_ = 0;
};

}  // namespace rampart::net
