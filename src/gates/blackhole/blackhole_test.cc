#include "gates/blackhole/blackhole.h"

#include <gtest/gtest.h>

namespace rampart::gates {
namespace {

namespace ip = boost::asio::ip;
using namespace std::chrono_literals;

BlackholeSettings Settings() {
  BlackholeSettings s;
  s.refusals = 3;
  s.within = 10s;
  s.cooldown = 60s;
  s.max_cooldown = 200s;
  return s;
}

void Refuse(Blackhole& b, const ip::address& a, SteadyTime& now, int n, int status = 429) {
  for (int i = 0; i < n; ++i) b.NoteRefusal(a, status, Settings(), now += 1s);
}

TEST(Blackhole, RefusalsWithinTheWindowBlackholeForTheCooldown) {
  Blackhole b;
  SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("192.0.2.7");
  Refuse(b, a, now, 2);
  EXPECT_FALSE(b.Holds(a, now));
  EXPECT_TRUE(b.NoteRefusal(a, 403, Settings(), now += 1s));
  EXPECT_TRUE(b.Holds(a, now));
  EXPECT_TRUE(b.Holds(ip::make_address("::ffff:192.0.2.7"), now));  // mapped: the same client
  EXPECT_FALSE(b.Holds(ip::make_address("192.0.2.8"), now));
  EXPECT_TRUE(b.Holds(a, now + 59s));
  EXPECT_FALSE(b.Holds(a, now + 60s));
  EXPECT_EQ(b.added_automatically(), 1u);
}

TEST(Blackhole, OnlyTheConfiguredStatusesWithinTheWindowCount) {
  Blackhole b;
  SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("2001:db8::7");
  Refuse(b, a, now, 10, 404);  // not a refusal that counts
  Refuse(b, a, now, 10, 200);
  EXPECT_FALSE(b.Holds(a, now));
  Refuse(b, a, now, 2);
  now += 11s;  // the window passed: counting starts again
  Refuse(b, a, now, 2);
  EXPECT_FALSE(b.Holds(a, now));
  Refuse(b, a, now, 1);
  EXPECT_TRUE(b.Holds(a, now));
}

TEST(Blackhole, TheCooldownDoublesOnEachRepeatUpToTheMaximum) {
  Blackhole b;
  SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("198.51.100.1");
  for (const auto expected : {60s, 120s, 200s, 200s}) {
    Refuse(b, a, now, 3);
    const auto list = b.List(now);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(list[0].remaining), expected);
    EXPECT_TRUE(b.Holds(a, now + expected - 1s));
    EXPECT_FALSE(b.Holds(a, now + expected));
    now += expected;
  }
  // A quiet spell as long as the longest hole forgets the strikes.
  now += 201s;
  Refuse(b, a, now, 3);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(b.List(now)[0].remaining), 60s);
}

TEST(Blackhole, OperatorsAddAndRemoveEntries) {
  Blackhole b;
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("203.0.113.5");
  b.Add(a, 30s, now);
  EXPECT_TRUE(b.Holds(a, now + 29s));
  EXPECT_FALSE(b.Holds(a, now + 31s));
  auto list = b.List(now);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].address, "203.0.113.5");
  EXPECT_TRUE(list[0].manual);
  EXPECT_TRUE(b.Remove(a));
  EXPECT_FALSE(b.Holds(a, now));
  EXPECT_FALSE(b.Remove(a));
  EXPECT_EQ(b.added_manually(), 1u);
}

TEST(Blackhole, AFloodOfOffendersNeverGrowsTheTableNorFreesTheHeld) {
  Blackhole b(1000);
  SteadyTime now = SteadyTime{} + 1000s;
  const auto held = ip::make_address("192.0.2.1");
  Refuse(b, held, now, 3);
  ASSERT_TRUE(b.Holds(held, now));
  for (std::uint32_t i = 0; i < 50'000; ++i)
    b.NoteRefusal(ip::address_v4(0x0a000000 + i), 429, Settings(), now);
  EXPECT_LE(b.List(now).size() + 0, 1000u);
  EXPECT_TRUE(b.Holds(held, now));
}

}  // namespace
}  // namespace rampart::gates

namespace rampart::gates {
namespace {

TEST(BlackholeSharing, NothingIsQueuedUntilSharingIsOn) {
  Blackhole b;
  const SteadyTime now = SteadyTime{} + 1000s;
  b.Add(ip::make_address("203.0.113.5"), 30s, now);
  EXPECT_TRUE(b.TakeChanges().empty());
}

TEST(BlackholeSharing, HolesMadeHereAndLiftsAreQueuedOnce) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("203.0.113.5");
  b.Add(a, 30s, now);
  const auto offender = ip::make_address("2001:db8::7");
  for (int i = 0; i < 20; ++i) b.NoteRefusal(offender, 429, BlackholeSettings{}, now);
  EXPECT_TRUE(b.Remove(a));
  auto changes = b.TakeChanges();
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].address, "203.0.113.5");
  EXPECT_EQ(changes[0].remaining, 30s);
  EXPECT_EQ(changes[1].address, "2001:db8::7");
  EXPECT_EQ(changes[1].remaining, 60s);  // the default first cooldown
  EXPECT_EQ(changes[2].address, "203.0.113.5");
  EXPECT_EQ(changes[2].remaining, 0s);  // lifted
  EXPECT_TRUE(b.TakeChanges().empty());
  // A round that failed puts them back in front of newer ones.
  b.Add(ip::make_address("198.51.100.1"), 5s, now);
  b.Requeue(std::move(changes));
  changes = b.TakeChanges();
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].address, "203.0.113.5");
  EXPECT_EQ(changes[3].address, "198.51.100.1");
}

TEST(BlackholeSharing, HolesFromOtherInstancesAreEnforcedAndLiftedWithTheList) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("192.0.2.9");
  const auto c = ip::make_address("::ffff:192.0.2.10");  // the mapped form is the same client
  EXPECT_EQ(b.MergeShared({{"192.0.2.9", 20s}, {"192.0.2.10", 5s}, {"not an address", 5s}}, now),
            2u);
  EXPECT_TRUE(b.Holds(a, now + 19s));
  EXPECT_FALSE(b.Holds(a, now + 21s));
  EXPECT_TRUE(b.Holds(c, now + 1s));
  EXPECT_EQ(b.added_shared(), 2u);
  EXPECT_TRUE(b.TakeChanges().empty());  // learned holes are not published back
  // The list no longer has 192.0.2.9: lifted elsewhere, lifted here.
  EXPECT_EQ(b.MergeShared({{"192.0.2.10", 4s}}, now + 1s), 0u);
  EXPECT_FALSE(b.Holds(a, now + 1s));
  EXPECT_TRUE(b.Holds(c, now + 2s));
}

TEST(BlackholeSharing, AHoleMadeHereStaysUntilTheListHasSeenIt) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("192.0.2.9");
  b.Add(a, 30s, now);
  // A round that read the list before this hole was published does not lift it.
  b.MergeShared({}, now);
  EXPECT_TRUE(b.Holds(a, now + 1s));
  // Once listed it is shared: a later list without it lifts it (an operator lifted it elsewhere).
  b.MergeShared({{"192.0.2.9", 29s}}, now + 1s);
  b.MergeShared({}, now + 2s);
  EXPECT_FALSE(b.Holds(a, now + 2s));
}

TEST(BlackholeSharing, ALongerHoleHereIsNotShortenedByTheList) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("192.0.2.9");
  b.Add(a, 60s, now);
  b.MergeShared({{"192.0.2.9", 10s}}, now);
  EXPECT_TRUE(b.Holds(a, now + 30s));
}

}  // namespace
}  // namespace rampart::gates

namespace rampart::gates {
namespace {

TEST(BlackholeSharing, AListCutAtTheReadLimitLiftsNothing) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto a = ip::make_address("192.0.2.9");
  b.MergeShared({{"192.0.2.9", 3600s}}, now);
  b.MergeShared({{"198.51.100.1", 5s}}, now + 1s, /*complete=*/false);
  EXPECT_TRUE(b.Holds(a, now + 2s));
}

TEST(BlackholeSharing, ChangesCarryTheirEndAndLiftsOfUnknownClientsArePublished) {
  Blackhole b;
  b.EnableSharing();
  const SteadyTime now = SteadyTime{} + 1000s;
  const auto wall_before = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  b.Add(ip::make_address("203.0.113.5"), 30s, now);
  EXPECT_TRUE(b.Remove(ip::make_address("203.0.113.6")));  // not held here, maybe elsewhere
  auto changes = b.TakeChanges();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_GE(changes[0].until_ms, wall_before + 30'000);
  EXPECT_LE(changes[0].until_ms, wall_before + 31'000);
  EXPECT_EQ(changes[1].address, "203.0.113.6");
  EXPECT_EQ(changes[1].remaining, 0s);
  b.DisableSharing();
  b.Add(ip::make_address("203.0.113.7"), 30s, now);
  EXPECT_TRUE(b.TakeChanges().empty());
  EXPECT_FALSE(b.Remove(ip::make_address("203.0.113.8")));
}

}  // namespace
}  // namespace rampart::gates
