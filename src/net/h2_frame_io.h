// The two coroutines that move bytes between a socket (TLS or not) and an nghttp2 session, for
// server connections and upstream client sessions alike: the reader feeds nghttp2 what arrives,
// the writer sends what nghttp2 has to say, waking when Kick() says there is more.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>

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
  // Client sessions: TLS is set up after construction, before Read and Write start.
  void set_tls(TlsStream* tls) noexcept { tls_ = tls; }

 private:
  LoopContext& loop_;
  boost::asio::ip::tcp::socket& socket_;
  TlsStream* tls_;
  boost::asio::steady_timer wake_;
  bool writer_waiting_ = false;
  bool reader_done_ = false;
  std::string out_;
  Deadline send_dl_;
};

}  // namespace rampart::net
