#include "net/tls_stream.h"

#include <openssl/err.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cerrno>
#include <cstring>

namespace rampart::net {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kOneRecord = 16 * 1024;

int BioRead(BIO* b, char* out, int len) {
  auto* st = static_cast<TlsStream::SocketState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  if (!st->staging.empty()) {
    const std::size_t n = std::min(st->staging.size(), static_cast<std::size_t>(len));
    std::memcpy(out, st->staging.data(), n);
    st->staging.Consume(n);
    st->staging.ReleaseIfEmpty();
    return static_cast<int>(n);
  }
  if (st->eof) return 0;
  BIO_set_retry_read(b);  // the stream fills `staging` when the socket is readable
  return -1;
}

int BioWrite(BIO* b, const char* in, int len) {
  auto* st = static_cast<TlsStream::SocketState*>(BIO_get_data(b));
  BIO_clear_retry_flags(b);
  ssize_t n;
  do {
    n = ::send(st->fd, in, static_cast<std::size_t>(len), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n >= 0) return static_cast<int>(n);
  if (errno == EAGAIN || errno == EWOULDBLOCK) BIO_set_retry_write(b);
  return -1;
}

long BioCtrl(BIO* b, int cmd, long, void*) {
  if (cmd == BIO_CTRL_FLUSH) return 1;
  // OpenSSL asks after a read returned 0: a FIN without close_notify is then a truncation.
  if (cmd == BIO_CTRL_EOF) return static_cast<TlsStream::SocketState*>(BIO_get_data(b))->eof;
  return 0;
}

BIO_METHOD* SocketMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "rampart socket");
    BIO_meth_set_read(m, &BioRead);
    BIO_meth_set_write(m, &BioWrite);
    BIO_meth_set_ctrl(m, &BioCtrl);
    return m;
  }();
  return method;
}

enum class Want { kRead, kWrite, kFail };

// What a failed SSL call asks for. errno was cleared before the call, so a non-zero errno is the
// socket's.
Want Classify(SSL* ssl, int r, error_code& ec) {
  const int sys = errno;
  switch (SSL_get_error(ssl, r)) {
    case SSL_ERROR_WANT_READ:
      return Want::kRead;
    case SSL_ERROR_WANT_WRITE:
      return Want::kWrite;
    case SSL_ERROR_ZERO_RETURN:  // close_notify
      ec = asio::error::eof;
      return Want::kFail;
    case SSL_ERROR_SYSCALL:
      ec = sys != 0 ? error_code(sys, boost::system::system_category())
                    : error_code(asio::error::eof);
      return Want::kFail;
    default: {
      const unsigned long e = ERR_get_error();
      if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
        ec = asio::ssl::error::stream_truncated;
      else
        ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
      ERR_clear_error();
      return Want::kFail;
    }
  }
}

void BeforeCall() noexcept {
  ERR_clear_error();
  errno = 0;
}

// One record's worth of a buffer sequence, copied together. Per thread: every call refills it
// before OpenSSL reads it, so a write that waited copies its bytes again.
thread_local std::array<char, kOneRecord> g_gather;

std::size_t Gather(std::span<const asio::const_buffer> bufs) noexcept {
  std::size_t n = 0;
  for (const auto& b : bufs) {
    std::memcpy(g_gather.data() + n, b.data(), b.size());
    n += b.size();
  }
  return n;
}

}  // namespace

TlsStream::TlsStream(tcp::socket& socket, Reactor& reactor, BufferPool& pool, SSL_CTX* ctx,
                     Role role)
    : socket_(socket),
      reactor_(reactor),
      staging_limit_(pool.block_size()),
      state_{socket.native_handle(), IoBuffer(pool)} {
  BIO* bio = BIO_new(SocketMethod());
  if (bio == nullptr) return;
  ssl_ = SSL_new(ctx);
  if (ssl_ == nullptr) {
    BIO_free(bio);
    return;
  }
  BIO_set_data(bio, &state_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl_, 1);  // take all that `staging` holds at once, not record by record
  if (role == Role::kServer)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
}

TlsStream::~TlsStream() {
  if (ssl_ != nullptr) SSL_free(ssl_);
}

asio::awaitable<bool> TlsStream::Fill(error_code& ec) {
  auto [rec, n] = co_await AsyncDrainedRecv(
      reactor_, socket_, BufferTarget{&state_.staging, 1, staging_limit_}, kUseAwaitable);
  if (rec == asio::error::eof) {
    state_.eof = true;  // OpenSSL sees it as a read of 0 bytes
    rec = {};
  }
  ec = rec;
  co_return !rec;
}

asio::awaitable<bool> TlsStream::WaitReadable(error_code& ec) {
  ec = {};
  if (SSL_has_pending(ssl_) != 0 || !state_.staging.empty() || state_.eof) co_return true;
  co_return co_await Fill(ec);
}

asio::awaitable<bool> TlsStream::AwaitRetry(int r, error_code& ec) {
  switch (Classify(ssl_, r, ec)) {
    case Want::kRead:
      co_return co_await Fill(ec);
    case Want::kWrite: {
      auto [wec] = co_await socket_.async_wait(tcp::socket::wait_write, kUseAwaitable);
      ec = wec;
      co_return !wec;
    }
    case Want::kFail:
      break;
  }
  co_return false;
}

asio::awaitable<error_code> TlsStream::Handshake() {
  error_code ec;
  for (;;) {
    BeforeCall();
    const int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return error_code();
    if (!co_await AwaitRetry(r, ec)) co_return ec;
  }
}

asio::awaitable<std::size_t> TlsStream::ReadSome(std::span<char> into, error_code& ec) {
  for (;;) {
    BeforeCall();
    std::size_t got = 0;
    const int r = SSL_read_ex(ssl_, into.data(), into.size(), &got);
    if (r == 1) {
      ec = {};
      co_return got;
    }
    if (!co_await AwaitRetry(r, ec)) co_return 0;
  }
}

int TlsStream::WriteOnce(const char* data, std::size_t n) noexcept {
  BeforeCall();
  std::size_t written = 0;  // all of it when SSL_write_ex succeeds (no partial writes are enabled)
  return SSL_write_ex(ssl_, data, n, &written);
}

asio::awaitable<void> TlsStream::SslWrite(std::span<const asio::const_buffer> bufs,
                                          error_code& ec) {
  for (;;) {
    // After WANT_WRITE, OpenSSL must be given the same bytes again; the gather buffer is per
    // thread, so refill it on every attempt.
    const char* data = static_cast<const char*>(bufs[0].data());
    std::size_t n = bufs[0].size();
    if (bufs.size() > 1) {
      data = g_gather.data();
      n = Gather(bufs);
    }
    const int r = WriteOnce(data, n);
    if (r == 1) {
      ec = {};
      co_return;
    }
    if (!co_await AwaitRetry(r, ec)) co_return;
  }
}

bool TlsStream::TryWrite(std::string_view data, error_code& ec) {
  ec = {};
  if (data.empty()) return true;
  const int r = WriteOnce(data.data(), data.size());
  if (r == 1) return true;
  return Classify(ssl_, r, ec) == Want::kFail;  // failed (ec set), else wait and call again
}

asio::awaitable<void> TlsStream::Write(std::span<const asio::const_buffer> bufs, error_code& ec) {
  ec = {};
  std::size_t total = 0;
  std::size_t parts = 0;
  for (const auto& b : bufs) {
    total += b.size();
    parts += b.size() > 0 ? 1 : 0;
  }
  if (parts > 1 && total <= kOneRecord) {
    co_await SslWrite(bufs, ec);
    co_return;
  }
  for (const auto& b : bufs) {
    if (b.size() == 0) continue;
    co_await SslWrite({&b, 1}, ec);
    if (ec) co_return;
  }
}

}  // namespace rampart::net
