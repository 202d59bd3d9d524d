#include "upstream/connection_pool.h"

#include <gtest/gtest.h>

namespace rampart::upstream {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class ConnectionPoolTest : public ::testing::Test {
 protected:
  ConnectionPoolTest() : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    ep_.key = "origin";
    ep_.address = acceptor_.local_endpoint();
  }

  // A connected pair: the pool's side and the origin's side.
  std::pair<std::unique_ptr<UpstreamConnection>, tcp::socket> Connect() {
    auto conn = pool_.NewConnection();
    conn->socket.connect(ep_.address);
    tcp::socket origin_side = acceptor_.accept();
    return {std::move(conn), std::move(origin_side)};
  }

  // Runs handlers until `done` or 5 s pass: waits for an event, not for a fixed time.
  template <typename Pred>
  bool RunUntil(Pred done) {
    for (int i = 0; i < 500 && !done(); ++i) {
      io_.restart();
      io_.run_for(std::chrono::milliseconds(10));
    }
    return done();
  }

  asio::io_context io_;
  tcp::acceptor acceptor_;
  ConnectionPool pool_{io_};
  EndpointSpec ep_;
};

TEST_F(ConnectionPoolTest, ReusesAnIdleConnection) {
  auto [conn, origin] = Connect();
  UpstreamConnection* raw = conn.get();
  auto& slot = pool_.For(ep_);
  pool_.GiveBack(slot, std::move(conn), 4, std::chrono::seconds(60), SteadyTime{});
  EXPECT_EQ(pool_.idle_count(), 1u);
  auto again = pool_.TakeIdle(slot);
  EXPECT_EQ(again.get(), raw);
  EXPECT_EQ(pool_.idle_count(), 0u);
  EXPECT_EQ(pool_.TakeIdle(slot), nullptr);
  // The cancelled idle watch runs as aborted and must not touch the connection in use.
  io_.restart();
  io_.poll();
  EXPECT_TRUE(again->socket.is_open());
}

TEST_F(ConnectionPoolTest, ConnectionClosedByTheOriginWhileIdleIsDropped) {
  auto [conn, origin] = Connect();
  auto& slot = pool_.For(ep_);
  pool_.GiveBack(slot, std::move(conn), 4, std::chrono::seconds(60), SteadyTime{});
  origin.close();
  EXPECT_TRUE(RunUntil([&] { return pool_.idle_count() == 0; }));
  EXPECT_EQ(pool_.TakeIdle(slot), nullptr);
}

TEST_F(ConnectionPoolTest, BoundsIdleConnectionsAndSweepsOldOnes) {
  auto& slot = pool_.For(ep_);
  auto [a, oa] = Connect();
  auto [b, ob] = Connect();
  auto [c, oc] = Connect();
  pool_.GiveBack(slot, std::move(a), 2, std::chrono::seconds(10), SteadyTime{});
  pool_.GiveBack(slot, std::move(b), 2, std::chrono::seconds(10),
                 SteadyTime{} + std::chrono::seconds(5));
  pool_.GiveBack(slot, std::move(c), 2, std::chrono::seconds(10), SteadyTime{});  // over max_idle
  EXPECT_EQ(pool_.idle_count(), 2u);
  pool_.Sweep(SteadyTime{} + std::chrono::seconds(12));  // a is 12 s idle, b 7 s
  EXPECT_EQ(pool_.idle_count(), 1u);
  EXPECT_EQ(pool_.active_or_zero(ep_), 0u);
  slot.active = 3;
  EXPECT_EQ(pool_.active_or_zero(ep_), 3u);
}

}  // namespace
}  // namespace rampart::upstream
