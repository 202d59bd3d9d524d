#include "state/cell_table.h"

#include <gtest/gtest.h>

#include <random>
#include <thread>

namespace rampart::state {
namespace {

// Cells here count hits in b and go idle at a.
std::int64_t IdleAtA(const void*, const Cell& c) { return c.a; }

TEST(CellTable, KeepsOneCellPerKey) {
  CellTable t(10'000, IdleAtA, nullptr);
  for (std::uint64_t k = 1; k <= 5000; ++k) {
    t.Update(k * 0x9E3779B97F4A7C15ULL, 0, [](Cell& c) { c = {100, c.b + 1}; });
  }
  for (std::uint64_t k = 1; k <= 5000; ++k) {
    t.Update(k * 0x9E3779B97F4A7C15ULL, 0, [](Cell& c) { ++c.b; });
  }
  EXPECT_EQ(t.keys(), 5000u);
  for (std::uint64_t k = 1; k <= 5000; ++k) {
    EXPECT_EQ(t.Update(k * 0x9E3779B97F4A7C15ULL, 0, [](Cell& c) { return c.b; }), 2) << k;
  }
  EXPECT_EQ(t.evictions(), 0u);
}

TEST(CellTable, ForgetsIdleKeysWhenItNeedsRoom) {
  CellTable t(64 * 64, IdleAtA, nullptr);
  std::mt19937_64 rng(1);
  // Many keys over time, each idle 10 ticks after its last use: the table never holds more
  // than the keys of the last 10 ticks and never evicts a live one.
  for (std::int64_t now = 1; now <= 200; ++now) {
    for (int i = 0; i < 100; ++i) t.Update(rng(), now, [&](Cell& c) { c = {now + 10, 1}; });
  }
  // 20,000 keys passed through a table capped at 4,096 without evicting a live one.
  EXPECT_LE(t.keys(), 64u * 64);
  EXPECT_EQ(t.evictions(), 0u);
}

TEST(CellTable, EvictsAtTheCapAndCountsIt) {
  CellTable t(64 * 16, IdleAtA, nullptr);
  std::mt19937_64 rng(2);
  for (int i = 0; i < 20'000; ++i) t.Update(rng(), 0, [&](Cell& c) { c = {1000 + i, 1}; });
  EXPECT_LE(t.keys(), 64u * 16);
  EXPECT_GT(t.evictions(), 18'000u);
  // Slot memory stays bounded by the cap.
  EXPECT_LE(t.bytes(), 64u * 32 * 24);
}

TEST(CellTable, ErasingKeepsProbeChainsIntact) {
  // Keys that share one home slot in their shard, then eviction pressure in that shard.
  CellTable t(64 * 8, IdleAtA, nullptr);
  std::vector<std::uint64_t> keys;
  for (std::uint64_t k = 1; keys.size() < 200; ++k) keys.push_back((k << 20) | 5);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    t.Update(keys[i], 0, [&](Cell& c) { c = {static_cast<std::int64_t>(i) + 1, 7}; });
  }
  // Every key the shard still counts is reachable by lookup and reads back its own cell (a broken
  // chain hides a present key or hands out a neighbour's cell).
  std::size_t present = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (auto got = t.Peek(keys[i])) {
      ++present;
      EXPECT_EQ(got->a, static_cast<std::int64_t>(i) + 1);
    }
  }
  EXPECT_EQ(present, t.keys());
  EXPECT_TRUE(t.Peek(keys.back()).has_value());  // the newest key is never the one evicted
}

TEST(CellTable, ExactAcrossThreads) {
  CellTable t(1 << 16, IdleAtA, nullptr);
  auto hammer = [&] {
    for (int i = 0; i < 100'000; ++i) {
      t.Update(static_cast<std::uint64_t>(i % 64 + 1) << 58, 0, [](Cell& c) {
        c.a = 1;
        ++c.b;
      });
    }
  };
  std::thread a(hammer), b(hammer);
  a.join();
  b.join();
  std::int64_t total = 0;
  for (int k = 0; k < 64; ++k) {
    total += t.Update(static_cast<std::uint64_t>(k + 1) << 58, 0, [](Cell& c) { return c.b; });
  }
  EXPECT_EQ(total, 200'000);
}

}  // namespace
}  // namespace rampart::state
