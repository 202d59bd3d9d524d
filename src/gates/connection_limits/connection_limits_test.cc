#include <gtest/gtest.h>

#include "gates/connection_limits/connection_limiter.h"
#include "gates/connection_limits/source_table.h"

namespace rampart::gates {
namespace {

namespace ip = boost::asio::ip;
using namespace std::chrono_literals;

ip::address V4(std::uint32_t n) { return ip::address_v4(n); }

TEST(SourceTable, CapsConcurrentConnectionsPerSource) {
  SourceTable t(1024);
  SourceLimits l{2, 0, 0};
  const SteadyTime now{};
  const auto a = ip::make_address("192.0.2.1");
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooMany);
  EXPECT_EQ(t.Admit(ip::make_address("192.0.2.2"), l, now), SourceVerdict::kAdmitted);
  t.Release(a, 64);
  EXPECT_EQ(t.active(a), 1u);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  // An IPv4-mapped IPv6 peer is the same source.
  EXPECT_EQ(t.Admit(ip::make_address("::ffff:192.0.2.1"), l, now), SourceVerdict::kTooMany);
}

TEST(SourceTable, IPv6ClientsAreCountedByTheirNetwork) {
  SourceTable t(1024);
  SourceLimits l{2, 0, 0};
  const SteadyTime now{};
  EXPECT_EQ(t.Admit(ip::make_address("2001:db8:1:2::1"), l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(ip::make_address("2001:db8:1:2:ffff::9"), l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(ip::make_address("2001:db8:1:2::abcd"), l, now), SourceVerdict::kTooMany);
  EXPECT_EQ(t.Admit(ip::make_address("2001:db8:1:3::1"), l, now), SourceVerdict::kAdmitted);
  l.ipv6_prefix = 128;
  EXPECT_EQ(t.Admit(ip::make_address("2001:db8:1:2::abcd"), l, now), SourceVerdict::kAdmitted);
  t.Release(ip::make_address("2001:db8:1:2::1"), 64);
  EXPECT_EQ(t.active(ip::make_address("2001:db8:1:2::77")), 1u);
}

TEST(SourceTable, RateOfNewConnectionsIsATokenBucketOnTheInjectedClock) {
  SourceTable t(1024);
  SourceLimits l{0, 2.0, 3};  // 2/s, burst 3
  SteadyTime now{};
  const auto a = ip::make_address("2001:db8::1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooFast);
  now += 499ms;
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooFast);
  now += 2ms;  // one token after 0.5 s
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooFast);
  now += 10s;  // never more than the burst
  for (int i = 0; i < 3; ++i) EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kAdmitted);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooFast);
  // Releases do not give back rate: the bucket counts openings.
  for (int i = 0; i < 7; ++i) t.Release(a, 64);
  EXPECT_EQ(t.Admit(a, l, now), SourceVerdict::kTooFast);
}

TEST(SourceTable, ASpoofedSourceFloodNeverGrowsTheTable) {
  SourceTable t(4096);
  SourceLimits l{1, 0, 0};
  const SteadyTime now{};
  // Sources that hold a connection are never evicted: their counts stay exact.
  const auto keeper = ip::make_address("198.51.100.1");
  ASSERT_EQ(t.Admit(keeper, l, now), SourceVerdict::kAdmitted);
  for (std::uint32_t i = 0; i < 200'000; ++i) {
    const auto a = V4(0x0a000000 + i);
    ASSERT_NE(t.Admit(a, l, now), SourceVerdict::kTooMany);
    t.Release(a, 64);
  }
  EXPECT_LE(t.size(), t.capacity());
  EXPECT_EQ(t.active(keeper), 1u);
  EXPECT_EQ(t.Admit(keeper, l, now), SourceVerdict::kTooMany);
}

TEST(SourceTable, WhenEveryEntryHoldsConnectionsNewSourcesAreAdmittedUntracked) {
  SourceTable t(64);  // one entry per shard
  SourceLimits l{1, 0, 0};
  const SteadyTime now{};
  std::size_t untracked = 0;
  for (std::uint32_t i = 0; i < 10'000; ++i) {
    if (t.Admit(V4(0xc0000000 + i), l, now) == SourceVerdict::kAdmittedUntracked) ++untracked;
  }
  EXPECT_EQ(t.size(), t.capacity());
  EXPECT_EQ(untracked, 10'000 - t.capacity());
}

TEST(ConnectionLimiter, ListenerCapCountsAcrossAdmissionsAndReleases) {
  ConnectionLimiter lim(1024);
  config::ListenerConnections c;
  c.max_connections = 2;
  ConnectionLimiter::Ticket a, b, d;
  EXPECT_EQ(lim.AdmitGlobal(c, a), ConnectionVerdict::kAdmitted);
  EXPECT_EQ(lim.AdmitGlobal(c, b), ConnectionVerdict::kAdmitted);
  EXPECT_EQ(lim.AdmitGlobal(c, d), ConnectionVerdict::kMaxConnections);
  EXPECT_EQ(lim.open(), 2u);
  lim.Release(a);
  lim.Release(a);  // twice: counted once
  EXPECT_EQ(lim.open(), 1u);
  EXPECT_EQ(lim.AdmitGlobal(c, d), ConnectionVerdict::kAdmitted);
  // Counted without a cap too, so a reload that sets one starts from the truth.
  config::ListenerConnections none;
  ConnectionLimiter::Ticket e;
  EXPECT_EQ(lim.AdmitGlobal(none, e), ConnectionVerdict::kAdmitted);
  EXPECT_EQ(lim.open(), 3u);
}

TEST(ConnectionLimiter, SourceCapsAndTheirRelease) {
  ConnectionLimiter lim(1024);
  config::ListenerConnections c;
  c.max_per_source = 1;
  c.rate_per_source = *ParseRate("100/s");
  const auto a = ip::make_address("192.0.2.9");
  ConnectionLimiter::Ticket t1, t2;
  EXPECT_EQ(lim.AdmitSource(c, a, SteadyTime{}, t1), ConnectionVerdict::kAdmitted);
  EXPECT_EQ(lim.AdmitSource(c, a, SteadyTime{}, t2), ConnectionVerdict::kMaxPerSource);
  lim.Release(t1);
  EXPECT_EQ(lim.AdmitSource(c, a, SteadyTime{}, t2), ConnectionVerdict::kAdmitted);
  config::ListenerConnections rate_only;
  rate_only.rate_per_source = *ParseRate("1/m");
  ConnectionLimiter::Ticket r1, r2;
  const auto b = ip::make_address("192.0.2.10");
  EXPECT_EQ(lim.AdmitSource(rate_only, b, SteadyTime{}, r1), ConnectionVerdict::kAdmitted);
  EXPECT_EQ(lim.AdmitSource(rate_only, b, SteadyTime{} + 30s, r2),
            ConnectionVerdict::kRatePerSource);
  EXPECT_EQ(lim.AdmitSource(rate_only, b, SteadyTime{} + 61s, r2), ConnectionVerdict::kAdmitted);
}

}  // namespace
}  // namespace rampart::gates
