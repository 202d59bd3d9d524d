// A TLS connection (OpenSSL) over a TCP socket that OpenSSL reads and writes itself, the way
// nginx and HAProxy run TLS: a call that needs the socket returns WANT_READ or WANT_WRITE, and the
// stream waits for readiness on Asio's reactor before it calls again.
//
// Compared with asio::ssl::stream, this holds no copy buffers and no BIO pair: asio's stream
// gives every connection two 17 KiB buffers and OpenSSL's BIO pair two more, for the
// connection's life, where OpenSSL's own record buffers are released when a connection is idle
// (SSL_MODE_RELEASE_BUFFERS). Records go straight between the socket and OpenSSL.
//
// Writes go from OpenSSL to the socket directly. Reads go through the drained receive
// (net/drained_recv.h): when OpenSSL wants bytes, the stream receives them into `staging`, a
// buffer from the worker's pool that is taken only once the socket is readable and given back
// when OpenSSL has consumed it, and the BIO hands them over. So a TLS connection waits like a
// plain one: holding no buffer, with no recv failing with EAGAIN when the reactor already knows
// the socket is empty, and no epoll_ctl per wait. One reader and one writer may wait at the same
// time (an HTTP/2 connection's two coroutines); OpenSSL allows interleaved SSL_read and
// SSL_write on one thread.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <span>
#include <string_view>

#include "net/drained_recv.h"
#include "net/io_buffer.h"

namespace rampart::net {

class TlsStream {
 public:
  enum class Role { kServer, kClient };

  // The socket, reactor and pool outlive the stream; the socket stays non-blocking. ok() is false
  // when OpenSSL could not make the connection object.
  TlsStream(boost::asio::ip::tcp::socket& socket, Reactor& reactor, BufferPool& pool, SSL_CTX* ctx,
            Role role);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  bool ok() const noexcept { return ssl_ != nullptr; }
  SSL* native_handle() const noexcept { return ssl_; }

  boost::asio::awaitable<boost::system::error_code> Handshake();
  // At least one byte, or an error (asio::error::eof after the peer's close_notify,
  // asio::ssl::error::stream_truncated when the peer closed without one).
  boost::asio::awaitable<std::size_t> ReadSome(std::span<char> into, boost::system::error_code& ec);
  // Returns at once when a read could find bytes; otherwise waits for the socket to be readable
  // (a connection waiting for its next request holds no buffer meanwhile). False with ec set on
  // error or cancellation.
  boost::asio::awaitable<bool> WaitReadable(boost::system::error_code& ec);
  // Every byte of `bufs`; a sequence of at most 16 KiB goes out as one record.
  boost::asio::awaitable<void> Write(std::span<const boost::asio::const_buffer> bufs,
                                     boost::system::error_code& ec);
  // `data` written without waiting: true when done (ec set if it failed); false when the socket
  // must be waited on, and then Write must be given the same bytes, which may have moved
  // (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER): OpenSSL holds their records already.
  bool TryWrite(std::string_view data, boost::system::error_code& ec);

  // What the BIO reads from and writes to.
  struct SocketState {
    int fd;
    IoBuffer staging;  // received, not yet taken by OpenSSL
    bool eof = false;  // the peer's FIN came
  };

 private:
  // After an SSL call returned `r`: waits for the readiness OpenSSL asked for and returns true,
  // or sets `ec` and returns false.
  boost::asio::awaitable<bool> AwaitRetry(int r, boost::system::error_code& ec);
  // Receives into `staging` once the socket is readable (at once if it may already be).
  boost::asio::awaitable<bool> Fill(boost::system::error_code& ec);
  // SSL_write_ex of `n` bytes, OpenSSL's error queue cleared first: its result.
  int WriteOnce(const char* data, std::size_t n) noexcept;
  // One SSL_write of the bytes of `bufs`: one buffer, or several gathered (at most 16 KiB).
  boost::asio::awaitable<void> SslWrite(std::span<const boost::asio::const_buffer> bufs,
                                        boost::system::error_code& ec);

  boost::asio::ip::tcp::socket& socket_;
  Reactor& reactor_;
  std::size_t staging_limit_;
  SocketState state_;
  SSL* ssl_ = nullptr;
};

}  // namespace rampart::net
