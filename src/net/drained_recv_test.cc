#include "net/drained_recv.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>

namespace rampart::net {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

// Counts how many times the op tried a recv (each try prepares its destination once).
struct CountingTarget {
  std::span<char> into;
  int* tries;
  std::span<char> Prepare() noexcept {
    ++*tries;
    return into;
  }
  void Commit(std::size_t) noexcept {}
  void Release() noexcept {}
};

struct Result {
  error_code ec;
  std::size_t n = 0;
};

class DrainedRecvTest : public ::testing::Test {
 protected:
  DrainedRecvTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    client_.connect(acceptor_.local_endpoint());
    server_ = acceptor_.accept();
  }

  template <typename Target>
  void Start(Target target, std::optional<Result>& out) {
    out.reset();
    AsyncDrainedRecv(ReactorOf(io_), server_, target, [&out](error_code ec, std::size_t n) {
      out = Result{ec, n};
    });
  }
  // Runs the loop until `out` is set (bounded, so a lost wake-up fails instead of hanging).
  void RunUntil(std::optional<Result>& out) {
    for (int i = 0; i < 200 && !out; ++i) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(10));
    }
  }
  // Runs what is ready now, without waiting.
  void Poll() {
    io_.restart();
    io_.poll();
  }
  void Send(std::string_view s) { asio::write(client_, asio::buffer(s.data(), s.size())); }
  // Waits (bounded) until the server side sees the client's FIN.
  bool WaitForFin() {
    pollfd p{server_.native_handle(), POLLRDHUP, 0};
    return ::poll(&p, 1, 2000) == 1 && (p.revents & POLLRDHUP) != 0;
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  tcp::socket client_{io_};
  tcp::socket server_{io_};
  char buf_[64] = {};
  int tries_ = 0;
};

TEST_F(DrainedRecvTest, AReadAfterADrainingReadWaitsForEpollWithoutTrying) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);  // nothing there: one try, then queued
  EXPECT_EQ(tries_, 1);
  Send("abc");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ec);
  EXPECT_EQ(r->n, 3u);
  EXPECT_EQ(tries_, 2);

  // That read left nothing queued: the next one is queued without a recv...
  Start(CountingTarget{buf_, &tries_}, r);
  Poll();
  EXPECT_FALSE(r);
  EXPECT_EQ(tries_, 2);
  // ...and the edge for new bytes still wakes it.
  Send("defg");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 4u);
  EXPECT_EQ(std::string(buf_, 4), "defg");
  EXPECT_EQ(tries_, 3);
}

TEST_F(DrainedRecvTest, WithoutTheQueuedBytesReportEveryReadTriesFirst) {
  // Asio's own behaviour, kept when TCP_INQ is off: one recv that fails with EAGAIN per read.
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);
  Send("abc");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(tries_, 2);
  Start(CountingTarget{buf_, &tries_}, r);
  EXPECT_EQ(tries_, 3);
  Send("d");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(tries_, 4);
}

TEST_F(DrainedRecvTest, MoreThanTheBufferHeldIsReadAtOnce) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  Send(std::string(100, 'x'));
  std::optional<Result> r;
  Start(CountingTarget{std::span<char>(buf_, 60), &tries_}, r);
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 60u);
  // 40 bytes were left: the next read takes them without waiting for another edge.
  Start(CountingTarget{std::span<char>(buf_, 60), &tries_}, r);
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 40u);
}

TEST_F(DrainedRecvTest, AFinThatCameWithTheDataIsSeenByTheNextRead) {
  // A client that sends its request and half-closes: one edge, and one recv takes both the bytes
  // and the FIN. The next read must report the end of stream, not wait for an edge that will
  // never come.
  ASSERT_TRUE(EnableDrainedRecv(server_));
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);  // queued before anything arrives
  Send("GET / HTTP/1.1\r\n\r\n");
  client_.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(WaitForFin());
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 18u);
  Start(CountingTarget{buf_, &tries_}, r);
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::eof);
}

TEST_F(DrainedRecvTest, AResetThatCameWithTheDataIsSeenByTheNextRead) {
  // An origin that sends part of its answer and resets the connection: one edge reports the
  // bytes and the reset together, TCP_INQ says nothing is left (it does not count a reset), and
  // the next read must report the reset, not wait for an edge that will never come.
  ASSERT_TRUE(EnableDrainedRecv(server_));
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);  // queued before anything arrives
  Send("HTTP/1.1 200 OK\r\n");
  client_.set_option(asio::socket_base::linger(true, 0));
  client_.close();
  pollfd p{server_.native_handle(), POLLHUP, 0};
  ASSERT_EQ(::poll(&p, 1, 2000), 1);  // the reset is there before the loop runs
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->ec);
  EXPECT_EQ(r->n, 17u);
  Start(CountingTarget{buf_, &tries_}, r);
  RunUntil(r);
  ASSERT_TRUE(r);  // without the check: a wait until the exchange's timeout
  EXPECT_EQ(r->ec, asio::error::connection_reset);
}

TEST_F(DrainedRecvTest, AReadIsCountedAndWakesASleepingPollerOnce) {
  // The worker's busy polling (server/worker.cc) stops when reads stop, and the next read
  // starts it again.
  ASSERT_TRUE(EnableDrainedRecv(server_));
  ReadActivity& a = t_read_activity;
  int woken = 0;
  a.wake = [](void* n) { ++*static_cast<int*>(n); };
  a.ctx = &woken;
  a.watching = true;
  const std::uint64_t before = a.reads;
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);
  Poll();
  EXPECT_EQ(a.reads, before);  // a try that found nothing is no read
  Send("ab");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(a.reads, before + 1);
  EXPECT_EQ(woken, 1);
  EXPECT_FALSE(a.watching);
  Send("c");
  Start(CountingTarget{buf_, &tries_}, r);
  RunUntil(r);
  EXPECT_EQ(a.reads, before + 2);
  EXPECT_EQ(woken, 1);  // once per sleep
  a = ReadActivity{};
}

TEST_F(DrainedRecvTest, ABufferTargetHoldsNoMemoryWhileWaiting) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  BufferPool pool(1024, 4);
  IoBuffer in(pool);
  std::optional<Result> r;
  Start(BufferTarget{&in, 256, 4096}, r);
  Poll();
  EXPECT_FALSE(r);
  EXPECT_EQ(in.capacity(), 0u);
  Send("hello");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 5u);
  EXPECT_EQ(std::string(in.data(), in.size()), "hello");
  EXPECT_EQ(in.capacity(), 1024u);
}

TEST_F(DrainedRecvTest, AFullTargetIsReportedNotRead) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  Send("x");
  std::optional<Result> r;
  Start(CountingTarget{std::span<char>(), &tries_}, r);
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::no_buffer_space);
}

TEST_F(DrainedRecvTest, PeerCloseIsEof) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);
  client_.close();
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::eof);
}

TEST_F(DrainedRecvTest, SocketCancelAbortsTheWait) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  std::optional<Result> r;
  Start(CountingTarget{buf_, &tries_}, r);
  server_.cancel();
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
}

TEST_F(DrainedRecvTest, PerOperationCancellationAbortsTheWait) {
  ASSERT_TRUE(EnableDrainedRecv(server_));
  asio::cancellation_signal sig;
  std::optional<Result> r;
  AsyncDrainedRecv(ReactorOf(io_), server_, CountingTarget{buf_, &tries_},
                   asio::bind_cancellation_slot(sig.slot(), [&r](error_code ec, std::size_t n) {
                     r = Result{ec, n};
                   }));
  Poll();
  EXPECT_FALSE(r);
  sig.emit(asio::cancellation_type::terminal);
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->ec, asio::error::operation_aborted);
  // The socket stays usable.
  Start(CountingTarget{buf_, &tries_}, r);
  Send("z");
  RunUntil(r);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->n, 1u);
}

}  // namespace
}  // namespace rampart::net
