// The key-value stores: in process under a scripted clock, and on a real redis-server (expiry,
// set-if-absent raced by several workers, a server that stops answering, and the fallback).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <cstdint>
#include <functional>
#include <thread>

#include "state/kv/kv_fallback.h"
#include "state/kv/local_kv.h"
#include "state/kv/redis_kv.h"
#include "state/redis/test_redis_server.h"

namespace rampart::state {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Runs a store call to its end on `io` (whose Redis clients keep other work going).
template <typename T>
T Await(asio::io_context& io, asio::awaitable<T> call) {
  T out{};
  bool done = false;
  asio::co_spawn(io, std::move(call), [&](std::exception_ptr e, T v) {
    if (e) std::rethrow_exception(e);
    out = std::move(v);
    done = true;
  });
  io.restart();
  while (!done) io.run_one();
  return out;
}

// The fenced-write cases, the same for every store. `pass(d)`: the store's time moves on by d.
void FencedWriteCases(KvStore& kv, asio::io_context& io,
                      const std::function<void(milliseconds)>& pass) {
  const milliseconds ttl(60000);
  EXPECT_EQ(Await(io, kv.GetFenced("f", 0)).status, KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.SetFenced("f", 1, "first", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetFenced("f", 2, "second", ttl, 0)), KvStatus::kOk);
  // The holder of token 1 paused past its lease: it cannot overwrite token 2's value.
  EXPECT_EQ(Await(io, kv.SetFenced("f", 1, "late", ttl, 0)), KvStatus::kExists);
  KvResult r = Await(io, kv.GetFenced("f", 0));
  EXPECT_EQ(r.status, KvStatus::kOk);
  EXPECT_EQ(r.value, "second");
  EXPECT_EQ(r.number, 2);
  EXPECT_EQ(Await(io, kv.SetFenced("f", 2, "again", ttl, 0)), KvStatus::kOk);  // equal token
  EXPECT_EQ(Await(io, kv.GetFenced("f", 0)).value, "again");
  // Order is numeric for every token, including across the digits' two halves.
  EXPECT_EQ(Await(io, kv.SetFenced("big", 10'000'000'000, "b", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetFenced("big", 9'999'999'999, "a", ttl, 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.SetFenced("big", INT64_MAX, "max", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetFenced("big", INT64_MAX - 1, "x", ttl, 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.GetFenced("big", 0)).number, INT64_MAX);
  EXPECT_EQ(Await(io, kv.SetFenced("neg", -5, "n", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetFenced("neg", INT64_MIN, "m", ttl, 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.GetFenced("neg", 0)).number, -5);
  // Values are bytes: newlines and NULs round-trip, and a large value too.
  std::string binary("\n\0x\n\xff\0", 6);
  EXPECT_EQ(Await(io, kv.SetFenced("bin", 3, binary, ttl, 0)), KvStatus::kOk);
  r = Await(io, kv.GetFenced("bin", 0));
  EXPECT_EQ(r.value, binary);
  EXPECT_EQ(r.number, 3);
  for (int i = 0; i < 300 * 1024; ++i) binary.push_back(static_cast<char>(i * 7));
  EXPECT_EQ(Await(io, kv.SetFenced("bin", 4, binary, ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.GetFenced("bin", 0)).value, binary);
  // A plain Set under the key holds no token: GetFenced does not find it, SetFenced replaces it.
  EXPECT_EQ(Await(io, kv.Set("plain", "00000000000000000009", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.GetFenced("plain", 0)).status, KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.SetFenced("plain", 1, "v", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.GetFenced("plain", 0)).value, "v");
  // Expiry: a newer holder's value fences only while it lives.
  EXPECT_EQ(Await(io, kv.SetFenced("e", 7, "v7", milliseconds(100), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetFenced("e", 6, "v6", ttl, 0)), KvStatus::kExists);
  pass(milliseconds(100));
  EXPECT_EQ(Await(io, kv.GetFenced("e", 0)).status, KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.SetFenced("e", 6, "v6", ttl, 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.GetFenced("e", 0)).value, "v6");
}

TEST(LocalKv, ExpiryFollowsTheClock) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  EXPECT_EQ(kv.SetNow("a", "1", milliseconds(100), false), KvStatus::kOk);
  EXPECT_EQ(kv.GetNow("a").value, "1");
  now += milliseconds(99);
  EXPECT_EQ(kv.GetNow("a").status, KvStatus::kOk);
  now += milliseconds(1);
  EXPECT_EQ(kv.GetNow("a").status, KvStatus::kNotFound);
}

TEST(LocalKv, SetIfAbsentOnlyOnceUntilExpiry) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  EXPECT_EQ(kv.SetNow("lock", "holder-1", milliseconds(50), true), KvStatus::kOk);
  EXPECT_EQ(kv.SetNow("lock", "holder-2", milliseconds(50), true), KvStatus::kExists);
  EXPECT_EQ(kv.GetNow("lock").value, "holder-1");
  now += milliseconds(50);  // the holder's lease ran out
  EXPECT_EQ(kv.SetNow("lock", "holder-2", milliseconds(50), true), KvStatus::kOk);
  EXPECT_EQ(kv.GetNow("lock").value, "holder-2");
  EXPECT_EQ(kv.DeleteNow("lock"), KvStatus::kOk);
  EXPECT_EQ(kv.DeleteNow("lock"), KvStatus::kNotFound);
}

TEST(LocalKv, CompareAndSetOnlyForTheExpectedValue) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  asio::io_context io;
  EXPECT_EQ(Await(io, kv.CompareAndSet("k", "a", "b", milliseconds(50), 0)), KvStatus::kNotFound);
  EXPECT_EQ(kv.SetNow("k", "holder-1", milliseconds(50), true), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.CompareAndSet("k", "holder-2", "x", milliseconds(50), 0)),
            KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.CompareAndSet("k", "holder-1", "done", milliseconds(500), 0)),
            KvStatus::kOk);
  now += milliseconds(100);  // the new value has the new expiry
  EXPECT_EQ(kv.GetNow("k").value, "done");
  EXPECT_EQ(Await(io, kv.CompareAndDelete("k", "holder-1", 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.CompareAndDelete("k", "done", 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.CompareAndDelete("k", "done", 0)), KvStatus::kNotFound);
  EXPECT_EQ(kv.SetNow("e", "v", milliseconds(10), false), KvStatus::kOk);
  now += milliseconds(10);  // expired counts as absent
  EXPECT_EQ(Await(io, kv.CompareAndSet("e", "v", "w", milliseconds(10), 0)), KvStatus::kNotFound);
}

TEST(LocalKv, IncrementMakesFencingTokens) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  EXPECT_EQ(kv.IncrementNow("fence", milliseconds(10)).number, 1);
  EXPECT_EQ(kv.IncrementNow("fence", milliseconds(10)).number, 2);
  now += milliseconds(10);
  EXPECT_EQ(kv.IncrementNow("fence", milliseconds(10)).number, 1);
}

TEST(LocalKv, SetFencedRefusesAnOlderToken) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  asio::io_context io;
  FencedWriteCases(kv, io, [&](milliseconds d) { now += d; });
  LocalKv full(16, [&] { return now; });  // one key per shard: a full store says so
  int unavailable = 0;
  for (int i = 0; i < 100; ++i) {
    const KvStatus s = full.SetFencedNow("k" + std::to_string(i), 1, "v", milliseconds(1000));
    if (s == KvStatus::kUnavailable) ++unavailable;
  }
  EXPECT_GT(unavailable, 0);
}

TEST(LocalKv, FullStoreDropsOnlyExpiredKeys) {
  SteadyTime now{};
  LocalKv kv(16, [&] { return now; });  // one key per shard
  int set = 0;
  for (int i = 0; i < 200; ++i) {
    if (kv.SetNow("k" + std::to_string(i), "v", milliseconds(10), false) == KvStatus::kOk) ++set;
  }
  EXPECT_LE(kv.size(), 16u);
  EXPECT_LT(set, 200);  // live keys are never evicted: the rest were refused
  now += milliseconds(10);
  EXPECT_EQ(kv.SetNow("k0", "v", milliseconds(10), false), KvStatus::kOk);
}

TEST(LocalKv, ExpiredKeysAreReclaimedAsNewOnesComeWithoutAFullStore) {
  SteadyTime now{};
  LocalKv kv(1'000'000, [&] { return now; });
  for (int i = 0; i < 5000; ++i) kv.SetNow("old" + std::to_string(i), "v", milliseconds(10), true);
  now += milliseconds(10);
  for (int i = 0; i < 5000; ++i)
    kv.SetNow("new" + std::to_string(i), "v", milliseconds(60000), true);
  // Each new key looked at a few buckets: the expired keys are gone, the live ones all there.
  EXPECT_LE(kv.size(), 5500u);
  EXPECT_EQ(kv.GetNow("new0").status, KvStatus::kOk);
  EXPECT_EQ(kv.GetNow("new4999").status, KvStatus::kOk);
}

TEST(LocalKv, AFullShardTriesAgainWhenAShorterExpiryIsWritten) {
  SteadyTime now{};
  LocalKv kv(16, [&] { return now; });  // one key per shard
  // Two keys of one shard (the store shards by std::hash of the key, 16 ways).
  auto shard = [](const std::string& k) { return std::hash<std::string_view>{}(k) % 16; };
  const std::string a = "a";
  std::string b;
  for (int i = 0; b.empty(); ++i) {
    if (shard("b" + std::to_string(i)) == shard(a)) b = "b" + std::to_string(i);
  }
  EXPECT_EQ(kv.SetNow(a, "v", milliseconds(1000), false), KvStatus::kOk);
  EXPECT_EQ(kv.SetNow(b, "v", milliseconds(1000), false),
            KvStatus::kUnavailable);                                     // full until 1 s
  EXPECT_EQ(kv.SetNow(a, "v", milliseconds(10), false), KvStatus::kOk);  // now expires at 10 ms
  now += milliseconds(10);
  EXPECT_EQ(kv.SetNow(b, "v", milliseconds(1000), false), KvStatus::kOk);  // swept, not refused
}

TEST(LocalKv, SetIfAbsentIsAtomicAcrossThreads) {
  LocalKv kv(100000);
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < 1000; ++k) {
        if (kv.SetNow("key" + std::to_string(k), std::to_string(t), milliseconds(60000), true) ==
            KvStatus::kOk)
          ++won;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1000);  // exactly one winner per key
}

TEST(LocalKv, SetIfPresentNeverBringsBackADeletedKey) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  EXPECT_EQ(kv.SetIfPresentNow("s", "1", milliseconds(100)), KvStatus::kNotFound);
  kv.SetNow("s", "1", milliseconds(100), false);
  EXPECT_EQ(kv.SetIfPresentNow("s", "2", milliseconds(100)), KvStatus::kOk);
  EXPECT_EQ(kv.GetNow("s").value, "2");
  kv.DeleteNow("s");
  EXPECT_EQ(kv.SetIfPresentNow("s", "3", milliseconds(100)), KvStatus::kNotFound);
  EXPECT_EQ(kv.GetNow("s").status, KvStatus::kNotFound);
}

TEST(LocalKv, ScanFindsLiveKeysByPrefix) {
  SteadyTime now{};
  LocalKv kv(100, [&] { return now; });
  asio::io_context io;
  kv.SetNow("key:a", "1", milliseconds(100), false);
  kv.SetNow("key:b", "1", milliseconds(10), false);
  kv.SetNow("id:a", "1", milliseconds(100), false);
  now += milliseconds(10);  // key:b expired
  KvResult r = Await(io, kv.Scan("key:", 100, 0));
  EXPECT_EQ(r.keys, std::vector<std::string>{"key:a"});
  EXPECT_EQ(Await(io, kv.Scan("", 1, 0)).keys.size(), 1u);  // the limit
}

class RedisKvTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new testing::RedisServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->up()) << "redis-server did not start";
    redisReply* r = static_cast<redisReply*>(redisCommand(server_->context(), "FLUSHALL"));
    freeReplyObject(r);
  }
  static std::shared_ptr<redis::Pool> MakePool(int workers) {
    redis::Options o;
    o.port = static_cast<std::uint16_t>(server_->port());
    o.timeout = milliseconds(100);
    o.reconnect_interval = milliseconds(50);
    return std::make_shared<redis::Pool>(o, workers);
  }
  // Until worker `w`'s client is connected (bounded).
  static bool WaitUp(redis::Pool& pool, int w, asio::io_context& io) {
    redis::Client& c = pool.For(w, io.get_executor());
    for (int i = 0; i < 200 && !c.up(); ++i) {
      io.restart();
      io.run_for(milliseconds(10));
    }
    return c.up();
  }
  static inline testing::RedisServer* server_ = nullptr;
};

TEST_F(RedisKvTest, SetGetDeleteAndExpiry) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  EXPECT_EQ(Await(io, kv.Set("a", "value", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.Get("a", 0)).value, "value");
  EXPECT_EQ(Await(io, kv.Get("missing", 0)).status, KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.Delete("a", 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.Get("a", 0)).status, KvStatus::kNotFound);
  // The expiry is the server's: the key carries it, and goes once it passes.
  EXPECT_EQ(Await(io, kv.Set("short", "v", milliseconds(150), 0)), KvStatus::kOk);
  auto* ttl = static_cast<redisReply*>(redisCommand(server_->context(), "PTTL t:short"));
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 150);
  freeReplyObject(ttl);
  KvStatus s = KvStatus::kOk;
  for (int i = 0; i < 100 && s == KvStatus::kOk; ++i) {  // bounded: expiry is wall-clock
    io.restart();
    io.run_for(milliseconds(20));
    s = Await(io, kv.Get("short", 0)).status;
  }
  EXPECT_EQ(s, KvStatus::kNotFound);
}

TEST_F(RedisKvTest, GetTwoInOneRoundTrip) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  EXPECT_EQ(Await(io, kv.Set("a", "1", milliseconds(60000), 0)), KvStatus::kOk);
  const auto two = Await(io, kv.GetTwo("a", "missing", 0));
  EXPECT_EQ(two[0].status, KvStatus::kOk);
  EXPECT_EQ(two[0].value, "1");
  EXPECT_EQ(two[1].status, KvStatus::kNotFound);
  LocalKv local(10);
  local.SetNow("b", "2", milliseconds(60000), false);
  const auto lt = Await(io, local.GetTwo("nope", "b", 0));
  EXPECT_EQ(lt[0].status, KvStatus::kNotFound);
  EXPECT_EQ(lt[1].value, "2");
}

TEST_F(RedisKvTest, SetIfPresentOnlyRefreshesALiveKey) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  EXPECT_EQ(Await(io, kv.SetIfPresent("s", "1", milliseconds(60000), 0)), KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.Set("s", "1", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetIfPresent("s", "2", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.Get("s", 0)).value, "2");
  EXPECT_EQ(Await(io, kv.Delete("s", 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetIfPresent("s", "3", milliseconds(60000), 0)), KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.Get("s", 0)).status, KvStatus::kNotFound);
}

TEST_F(RedisKvTest, CompareAndSetAndDeleteOnTheServer) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  const std::string binary("a\0b\xff", 4);  // values are bytes, not C strings
  EXPECT_EQ(Await(io, kv.CompareAndSet("c", "x", "y", milliseconds(60000), 0)),
            KvStatus::kNotFound);
  EXPECT_EQ(Await(io, kv.Set("c", binary, milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.CompareAndSet("c", "a", "y", milliseconds(60000), 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.CompareAndSet("c", binary, "y", milliseconds(5000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.Get("c", 0)).value, "y");
  auto* ttl = static_cast<redisReply*>(redisCommand(server_->context(), "PTTL t:c"));
  ASSERT_NE(ttl, nullptr);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 5000);
  freeReplyObject(ttl);
  EXPECT_EQ(Await(io, kv.CompareAndDelete("c", binary, 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.CompareAndDelete("c", "y", 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.Get("c", 0)).status, KvStatus::kNotFound);
}

TEST_F(RedisKvTest, SetFencedRefusesAnOlderTokenOnTheServer) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  FencedWriteCases(kv, io, [&](milliseconds d) {  // the server's clock: wait it out
    io.restart();
    io.run_for(d + milliseconds(20));
  });
  EXPECT_EQ(Await(io, kv.SetFenced("ttl", 1, "v", milliseconds(5000), 0)), KvStatus::kOk);
  auto* ttl = static_cast<redisReply*>(redisCommand(server_->context(), "PTTL t:ttl"));
  ASSERT_NE(ttl, nullptr);
  EXPECT_GT(ttl->integer, 0);
  EXPECT_LE(ttl->integer, 5000);
  freeReplyObject(ttl);
}

TEST_F(RedisKvTest, ScanWalksTheStoresKeysOnly) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t*[x]:");  // glob characters in the namespace are literal
  RedisKv other(pool, "tt:");
  for (int i = 0; i < 1200; ++i) {
    ASSERT_EQ(Await(io, kv.Set("key:" + std::to_string(i), "v", milliseconds(60000), 0)),
              KvStatus::kOk);
  }
  ASSERT_EQ(Await(io, kv.Set("id:1", "v", milliseconds(60000), 0)), KvStatus::kOk);
  ASSERT_EQ(Await(io, other.Set("key:x", "v", milliseconds(60000), 0)), KvStatus::kOk);
  KvResult r = Await(io, kv.Scan("key:", 100000, 0));
  ASSERT_EQ(r.status, KvStatus::kOk);
  std::sort(r.keys.begin(), r.keys.end());
  r.keys.erase(std::unique(r.keys.begin(), r.keys.end()), r.keys.end());  // SCAN may repeat
  EXPECT_EQ(r.keys.size(), 1200u);
  EXPECT_TRUE(std::all_of(r.keys.begin(), r.keys.end(),
                          [](const std::string& k) { return k.starts_with("key:"); }));
  EXPECT_EQ(Await(io, kv.Scan("key:", 10, 0)).keys.size(), 10u);
}

TEST_F(RedisKvTest, SetIfAbsentAndIncrement) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  RedisKv kv(pool, "t:");
  EXPECT_EQ(Await(io, kv.SetIfAbsent("lock", "1", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, kv.SetIfAbsent("lock", "2", milliseconds(60000), 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, kv.Get("lock", 0)).value, "1");
  EXPECT_EQ(Await(io, kv.Increment("fence", milliseconds(60000), 0)).number, 1);
  EXPECT_EQ(Await(io, kv.Increment("fence", milliseconds(60000), 0)).number, 2);
  auto* ttl = static_cast<redisReply*>(redisCommand(server_->context(), "PTTL t:fence"));
  EXPECT_GT(ttl->integer, 0);  // the counter expires, set once when it was created
  freeReplyObject(ttl);
}

TEST_F(RedisKvTest, SetIfAbsentHasOneWinnerAcrossWorkers) {
  constexpr int kWorkers = 4;
  constexpr int kKeys = 200;
  // Each worker its own loop and connection. The loops outlive the pool: its clients' sockets
  // and timers belong to them.
  std::vector<std::unique_ptr<asio::io_context>> loops;
  for (int w = 0; w < kWorkers; ++w) loops.push_back(std::make_unique<asio::io_context>());
  auto pool = MakePool(kWorkers);
  RedisKv kv(pool, "race:");
  std::atomic<int> won{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      asio::io_context& io = *loops[w];
      if (!WaitUp(*pool, w, io)) {
        ++failed;
        return;
      }
      for (int k = 0; k < kKeys; ++k) {
        KvStatus s = Await(
            io, kv.SetIfAbsent("k" + std::to_string(k), std::to_string(w), milliseconds(60000), w));
        if (s == KvStatus::kOk) ++won;
        if (s == KvStatus::kUnavailable) ++failed;
      }
      pool->For(w, io.get_executor()).Stop();
      io.restart();
      io.run_for(milliseconds(50));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(won.load(), kKeys);
}  // kv and pool go before the loops (declared first)

TEST_F(RedisKvTest, AStoreThatStopsAnsweringTimesOutAndFallsBack) {
  asio::io_context io;
  auto pool = MakePool(1);
  ASSERT_TRUE(WaitUp(*pool, 0, io));
  auto redis = std::make_shared<RedisKv>(pool, "t:");
  auto local = std::make_shared<LocalKv>(1000);
  KvFallback to_local(redis, local, KvOnFailure::kLocal, nullptr);
  KvFallback to_fail(redis, local, KvOnFailure::kFail, nullptr);
  EXPECT_EQ(Await(io, to_local.Set("a", "shared", milliseconds(60000), 0)), KvStatus::kOk);
  server_->Pause(true);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(Await(io, redis->Get("a", 0)).status, KvStatus::kUnavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(2000));  // the timeout, not more
  // The client is down now: calls answer at once, by the configured rule.
  EXPECT_EQ(Await(io, to_fail.SetIfAbsent("b", "x", milliseconds(60000), 0)),
            KvStatus::kUnavailable);
  EXPECT_EQ(Await(io, to_local.SetIfAbsent("b", "x", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(local->GetNow("b").value, "x");
  EXPECT_EQ(Await(io, to_fail.SetFenced("f", 1, "x", milliseconds(60000), 0)),
            KvStatus::kUnavailable);
  EXPECT_EQ(Await(io, to_local.SetFenced("f", 2, "y", milliseconds(60000), 0)), KvStatus::kOk);
  EXPECT_EQ(Await(io, to_local.SetFenced("f", 1, "x", milliseconds(60000), 0)), KvStatus::kExists);
  EXPECT_EQ(Await(io, to_local.GetFenced("f", 0)).value, "y");
  EXPECT_EQ(Await(io, to_fail.GetFenced("f", 0)).status, KvStatus::kUnavailable);
  server_->Pause(false);
  // The client reconnects in the background; the shared value is there again.
  KvResult r;
  for (int i = 0; i < 200 && r.status != KvStatus::kOk; ++i) {
    io.restart();
    io.run_for(milliseconds(20));
    r = Await(io, redis->Get("a", 0));
  }
  EXPECT_EQ(r.value, "shared");
  pool->For(0, io.get_executor()).Stop();
  io.restart();
  io.run_for(milliseconds(50));
}

}  // namespace
}  // namespace rampart::state
