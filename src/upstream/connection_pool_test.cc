#include "upstream/connection_pool.h"

#include <gtest/gtest.h>

#include <thread>

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
  auto again = pool_.TakeIdle(slot, SteadyTime{} + std::chrono::seconds(1));  // peeked: open
  EXPECT_EQ(again.get(), raw);
  EXPECT_EQ(pool_.idle_count(), 0u);
  EXPECT_EQ(pool_.TakeIdle(slot, SteadyTime{}), nullptr);
  EXPECT_TRUE(again->socket.is_open());
}

TEST_F(ConnectionPoolTest, AnEndpointAReloadRemovedKeepsNoConnectionItsRequestsFinishWith) {
  auto& slot = pool_.For(ep_);
  auto [held, origin] = Connect();  // a request in flight across the reload
  pool_.CloseIdleExcept([](std::string_view) { return false; });
  pool_.GiveBack(slot, std::move(held), 4, std::chrono::seconds(60), SteadyTime{});
  EXPECT_EQ(pool_.idle_count(), 0u);  // closed when its request ended, not at its idle timeout
  // A later reload lists the endpoint again: its requests' connections are kept once more.
  auto& again = pool_.For(ep_);
  auto [next, origin2] = Connect();
  pool_.GiveBack(again, std::move(next), 4, std::chrono::seconds(60), SteadyTime{});
  EXPECT_EQ(pool_.idle_count(), 1u);
}

TEST_F(ConnectionPoolTest, CutsOnlyTheConnectionsRequestsHoldToTheDrainedEndpoint) {
  auto& slot = pool_.For(ep_);
  auto [a, origin_a] = Connect();
  auto [b, origin_b] = Connect();
  auto [c, origin_c] = Connect();
  a->JoinInUse(slot.in_use);
  b->JoinInUse(slot.in_use);
  c->JoinInUse(slot.in_use);
  b->LeaveInUse();  // its request let go of it
  c.reset();        // destroyed while in use: unlinks itself
  EXPECT_EQ(pool_.CutInUse("other"), 0u);
  EXPECT_EQ(pool_.CutInUse("origin"), 1u);
  EXPECT_TRUE(a->cut);
  EXPECT_FALSE(b->cut);
  // The cut shut a's reading side: a read ends at once, with nothing from the origin.
  char byte = 0;
  boost::system::error_code ec;
  EXPECT_EQ(a->socket.read_some(asio::buffer(&byte, 1), ec), 0u);
  EXPECT_EQ(ec, asio::error::eof);
  a->LeaveInUse();
  EXPECT_EQ(slot.in_use, nullptr);
  EXPECT_EQ(pool_.CutInUse("origin"), 0u);
}

// Waits (bounded) until the FIN from a closed origin side has reached our socket.
bool WaitForPeerClose(UpstreamConnection& conn) {
  for (int i = 0; i < 500; ++i) {
    if (!ConnectionPool::StillOpen(conn)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

TEST_F(ConnectionPoolTest, ConnectionClosedByTheOriginWhileIdleIsDropped) {
  auto [conn, origin] = Connect();
  auto& slot = pool_.For(ep_);
  UpstreamConnection* raw = conn.get();
  pool_.GiveBack(slot, std::move(conn), 4, std::chrono::seconds(60), SteadyTime{});
  origin.close();
  ASSERT_TRUE(WaitForPeerClose(*raw));
  pool_.Sweep(SteadyTime{} + std::chrono::seconds(1));
  EXPECT_EQ(pool_.idle_count(), 0u);
  EXPECT_EQ(pool_.TakeIdle(slot, SteadyTime{}), nullptr);
}

TEST_F(ConnectionPoolTest, TakeIdlePeeksConnectionsIdleForLong) {
  auto [fresh, origin_fresh] = Connect();
  auto [stale, origin_stale] = Connect();
  UpstreamConnection* stale_raw = stale.get();
  auto& slot = pool_.For(ep_);
  pool_.GiveBack(slot, std::move(fresh), 4, std::chrono::seconds(60), SteadyTime{});
  pool_.GiveBack(slot, std::move(stale), 4, std::chrono::seconds(60), SteadyTime{});
  origin_stale.close();
  ASSERT_TRUE(WaitForPeerClose(*stale_raw));
  // Idle for 1 s: the closed one (taken first, most recent) is peeked and dropped.
  auto got = pool_.TakeIdle(slot, SteadyTime{} + std::chrono::seconds(1));
  ASSERT_NE(got, nullptr);
  EXPECT_NE(got.get(), stale_raw);
  EXPECT_EQ(pool_.idle_count(), 0u);
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

TEST_F(ConnectionPoolTest, KeepsAsManyIdleAsTheRecentPeakInFlight) {
  auto& slot = pool_.For(ep_);
  {
    std::vector<std::unique_ptr<ConnectionPool::ActiveRequest>> busy;
    for (int i = 0; i < 5; ++i)
      busy.push_back(std::make_unique<ConnectionPool::ActiveRequest>(slot));
    EXPECT_EQ(slot.peak, 5u);
  }
  EXPECT_EQ(slot.active, 0u);
  std::vector<std::pair<std::unique_ptr<UpstreamConnection>, tcp::socket>> conns;
  for (int i = 0; i < 6; ++i) conns.push_back(Connect());
  for (auto& [conn, origin] : conns)
    pool_.GiveBack(slot, std::move(conn), 2, std::chrono::seconds(60), SteadyTime{});
  EXPECT_EQ(pool_.idle_count(), 5u);  // the peak of 5, over max_idle 2
  // Two windows without load: the pool shrinks back to max_idle's bound for new returns.
  pool_.Sweep(SteadyTime{} + std::chrono::seconds(1));
  pool_.Sweep(SteadyTime{} + std::chrono::seconds(12));
  EXPECT_EQ(slot.last_peak, 0u);
  EXPECT_EQ(slot.peak, 0u);
  while (pool_.TakeIdle(slot, SteadyTime{} + std::chrono::seconds(12))) {
  }
  auto [x, ox] = Connect();
  auto [y, oy] = Connect();
  auto [z, oz] = Connect();
  pool_.GiveBack(slot, std::move(x), 2, std::chrono::seconds(60), SteadyTime{});
  pool_.GiveBack(slot, std::move(y), 2, std::chrono::seconds(60), SteadyTime{});
  pool_.GiveBack(slot, std::move(z), 2, std::chrono::seconds(60), SteadyTime{});
  EXPECT_EQ(pool_.idle_count(), 2u);
}

}  // namespace
}  // namespace rampart::upstream
