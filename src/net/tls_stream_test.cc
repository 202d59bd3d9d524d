#include "net/tls_stream.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <memory>
#include <string>

#include "net/drained_recv.h"

namespace rampart::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// A self-signed P-256 certificate made in memory, and the two contexts that use it.
struct Contexts {
  SSL_CTX* server = SSL_CTX_new(TLS_server_method());
  SSL_CTX* client = SSL_CTX_new(TLS_client_method());
  Contexts() {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    X509_sign(cert, key, EVP_sha256());
    SSL_CTX_use_certificate(server, cert);
    SSL_CTX_use_PrivateKey(server, key);
    SSL_CTX_set_min_proto_version(server, TLS1_3_VERSION);
    SSL_CTX_set_verify(client, SSL_VERIFY_NONE, nullptr);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~Contexts() {
    SSL_CTX_free(server);
    SSL_CTX_free(client);
  }
};

class TlsStreamTest : public ::testing::Test {
 protected:
  TlsStreamTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    client_sock_.connect(acceptor_.local_endpoint());
    server_sock_ = acceptor_.accept();
    for (tcp::socket* s : {&client_sock_, &server_sock_}) {
      s->non_blocking(true);
      s->set_option(tcp::no_delay(true));
      EnableDrainedRecv(*s);
    }
    server_ = std::make_unique<TlsStream>(server_sock_, ReactorOf(io_), pool_, ctx_.server,
                                          TlsStream::Role::kServer);
    client_ = std::make_unique<TlsStream>(client_sock_, ReactorOf(io_), pool_, ctx_.client,
                                          TlsStream::Role::kClient);
  }

  // Runs the loop until `flag` is set (bounded: a lost wake-up fails instead of hanging).
  void Pump(const bool& flag) {
    for (int i = 0; i < 2000 && !flag; ++i) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(5));
    }
  }
  // Starts `fn` as a coroutine; `done` is set when it ends.
  template <typename Fn>
  void Spawn(Fn fn, bool& done) {
    done = false;
    asio::co_spawn(io_, std::move(fn), [&done](std::exception_ptr e) {
      done = true;
      if (e) std::rethrow_exception(e);
    });
  }
  // Runs `fn` as a coroutine to its end.
  template <typename Fn>
  void Run(Fn fn) {
    bool done = false;
    Spawn(std::move(fn), done);
    Pump(done);
    ASSERT_TRUE(done) << "the coroutine did not finish";
  }

  void Handshake() {
    error_code sec, cec;
    bool server_done = false;
    Spawn([&]() -> asio::awaitable<void> { sec = co_await server_->Handshake(); }, server_done);
    Run([&]() -> asio::awaitable<void> { cec = co_await client_->Handshake(); });
    Pump(server_done);
    ASSERT_TRUE(server_done);
    ASSERT_FALSE(sec) << sec.message();
    ASSERT_FALSE(cec) << cec.message();
  }

  // Reads from `s` until `n` bytes arrived or an error.
  asio::awaitable<std::string> ReadAll(TlsStream& s, std::size_t n, error_code& ec) {
    std::string out;
    char buf[4096];
    while (out.size() < n) {
      std::size_t got = co_await s.ReadSome(buf, ec);
      if (ec) break;
      out.append(buf, got);
    }
    co_return out;
  }

  asio::io_context io_;
  BufferPool pool_{16 * 1024, 16};
  Contexts ctx_;
  tcp::acceptor acceptor_;
  tcp::socket client_sock_{io_};
  tcp::socket server_sock_{io_};
  std::unique_ptr<TlsStream> server_;
  std::unique_ptr<TlsStream> client_;
};

TEST_F(TlsStreamTest, HandshakesAndCarriesBytesBothWays) {
  Handshake();
  error_code wec, rec;
  std::string got;
  Run([&]() -> asio::awaitable<void> {
    std::string head = "GET / HTTP/1.1\r\n", rest = "Host: x\r\n\r\n";
    asio::const_buffer parts[] = {asio::buffer(head), asio::buffer(rest)};
    co_await client_->Write(parts, wec);
    got = co_await ReadAll(*server_, head.size() + rest.size(), rec);
  });
  EXPECT_FALSE(wec);
  EXPECT_FALSE(rec);
  EXPECT_EQ(got, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string back;
  Run([&]() -> asio::awaitable<void> {
    std::string answer = "HTTP/1.1 200 OK\r\n\r\n";
    asio::const_buffer one[] = {asio::buffer(answer)};
    co_await server_->Write(one, wec);
    back = co_await ReadAll(*client_, answer.size(), rec);
  });
  EXPECT_FALSE(wec);
  EXPECT_FALSE(rec);
  EXPECT_EQ(back, "HTTP/1.1 200 OK\r\n\r\n");
}

TEST_F(TlsStreamTest, SeveralSmallBuffersGoOutAsOneRecord) {
  Handshake();
  error_code ec;
  std::size_t first = 0;
  Run([&]() -> asio::awaitable<void> {
    std::string head(300, 'h'), body(1024, 'b');
    asio::const_buffer parts[] = {asio::buffer(head), asio::buffer(body)};
    co_await client_->Write(parts, ec);
    char buf[4096];
    // SSL_read returns at most one record: all 1,324 bytes at once means one record.
    first = co_await server_->ReadSome(buf, ec);
  });
  EXPECT_FALSE(ec);
  EXPECT_EQ(first, 1324u);
}

TEST_F(TlsStreamTest, ALargeWriteWaitsForTheReaderAndArrivesWhole) {
  Handshake();
  int small = 4096;
  setsockopt(client_sock_.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  std::string big(1024 * 1024, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  error_code wec, rec;
  bool written = false;
  std::string got;
  Spawn(
      [&]() -> asio::awaitable<void> {
        asio::const_buffer one[] = {asio::buffer(big)};
        co_await client_->Write(one, wec);  // far more than the socket buffers: must wait
      },
      written);
  io_.restart();
  io_.poll();
  EXPECT_FALSE(written);  // more than the socket buffers hold: it waits for the reader
  Run([&]() -> asio::awaitable<void> { got = co_await ReadAll(*server_, big.size(), rec); });
  Pump(written);
  EXPECT_TRUE(written);
  EXPECT_FALSE(wec) << wec.message();
  EXPECT_FALSE(rec) << rec.message();
  EXPECT_TRUE(got == big);
}

TEST_F(TlsStreamTest, OneReaderAndOneWriterWaitAtTheSameTime) {
  Handshake();
  error_code rec, wec, crec;
  std::string server_got, client_got;
  bool server_read = false;
  // The server's read waits (nothing sent yet) while its write goes out.
  Spawn([&]() -> asio::awaitable<void> { server_got = co_await ReadAll(*server_, 5, rec); },
        server_read);
  Run([&]() -> asio::awaitable<void> {
    std::string hello = "hello";
    asio::const_buffer one[] = {asio::buffer(hello)};
    co_await server_->Write(one, wec);
    client_got = co_await ReadAll(*client_, 5, crec);
    std::string world = "world";
    asio::const_buffer two[] = {asio::buffer(world)};
    co_await client_->Write(two, crec);
  });
  Pump(server_read);
  EXPECT_FALSE(wec);
  EXPECT_EQ(client_got, "hello");
  EXPECT_EQ(server_got, "world");
  EXPECT_FALSE(rec);
}

TEST_F(TlsStreamTest, BytesOpenSSLAlreadyHoldsNeedNoWait) {
  Handshake();
  error_code ec;
  bool ready = false;
  std::string first;
  Run([&]() -> asio::awaitable<void> {
    std::string msg(1000, 'x');
    asio::const_buffer one[] = {asio::buffer(msg)};
    co_await client_->Write(one, ec);
    char small[100];
    std::size_t n = co_await server_->ReadSome(small, ec);  // takes the record, returns 100
    first.assign(small, n);
    // The other 900 bytes are decrypted inside OpenSSL; the socket is empty.
    ready = co_await server_->WaitReadable(ec);
  });
  EXPECT_EQ(first.size(), 100u);
  EXPECT_TRUE(ready);
  EXPECT_FALSE(ec);
  EXPECT_EQ(SSL_pending(server_->native_handle()), 900);
}

TEST_F(TlsStreamTest, CloseNotifyIsEofAndABareCloseIsTruncation) {
  Handshake();
  error_code ec;
  Run([&]() -> asio::awaitable<void> {
    SSL_shutdown(client_->native_handle());  // sends close_notify
    char buf[16];
    co_await server_->ReadSome(buf, ec);
  });
  EXPECT_EQ(ec, asio::error::eof);
  client_sock_.close();
  Run([&]() -> asio::awaitable<void> {
    char buf[16];
    co_await server_->ReadSome(buf, ec);  // after close_notify, the read reports eof again
  });
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) << ec.message();
}

TEST_F(TlsStreamTest, APeerThatClosesWithoutCloseNotifyIsTruncation) {
  Handshake();
  client_sock_.shutdown(tcp::socket::shutdown_send);  // a FIN with no close_notify before it
  error_code ec;
  Run([&]() -> asio::awaitable<void> {
    char buf[16];
    co_await server_->ReadSome(buf, ec);
  });
  EXPECT_EQ(ec, asio::ssl::error::stream_truncated) << ec.message();
}

TEST_F(TlsStreamTest, CancellingTheSocketEndsAWaitingRead) {
  Handshake();
  error_code ec;
  bool done = false;
  Spawn(
      [&]() -> asio::awaitable<void> {
        char buf[16];
        co_await server_->ReadSome(buf, ec);
      },
      done);
  io_.restart();
  io_.poll();
  EXPECT_FALSE(done);
  server_sock_.cancel();
  Pump(done);
  EXPECT_TRUE(done);
  EXPECT_EQ(ec, asio::error::operation_aborted);
}

TEST_F(TlsStreamTest, AFailedHandshakeReportsTheTlsError) {
  // A client that insists on TLS 1.2 against a server that offers only 1.3.
  SSL_set_max_proto_version(client_->native_handle(), TLS1_2_VERSION);
  error_code sec, cec;
  bool server_done = false;
  Spawn([&]() -> asio::awaitable<void> { sec = co_await server_->Handshake(); }, server_done);
  Run([&]() -> asio::awaitable<void> { cec = co_await client_->Handshake(); });
  Pump(server_done);
  EXPECT_TRUE(sec);
  EXPECT_TRUE(cec);
  EXPECT_EQ(sec.category(), asio::error::get_ssl_category()) << sec.message();
}

}  // namespace
}  // namespace rampart::net
