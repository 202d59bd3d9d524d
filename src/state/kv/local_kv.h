// The in-process key-value store: sharded hash maps under a mutex each, entries with an expiry
// on an injectable clock. Expired entries are dropped when met, a few buckets at a time with
// every new key (so a store written at a steady rate holds about its live keys and reuses their
// memory, as Redis's active expiry does), and by a sweep of the shard when it fills; a store at its
// bound answers kUnavailable rather than drop a live entry (a lock or a session must not vanish
// because another key came).
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "state/kv/kv_store.h"

namespace rampart::state {

class LocalKv final : public KvStore {
 public:
  using Clock = std::function<SteadyTime()>;
  explicit LocalKv(
      std::size_t max_keys, Clock clock = [] { return std::chrono::steady_clock::now(); });

  boost::asio::awaitable<KvResult> Get(std::string_view key, int worker) override;
  boost::asio::awaitable<std::array<KvResult, 2>> GetTwo(std::string_view a, std::string_view b,
                                                         int worker) override;
  boost::asio::awaitable<KvStatus> Set(std::string_view key, std::string_view value,
                                       std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> SetIfAbsent(std::string_view key, std::string_view value,
                                               std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> SetIfPresent(std::string_view key, std::string_view value,
                                                std::chrono::milliseconds ttl, int worker) override;
  boost::asio::awaitable<KvStatus> Delete(std::string_view key, int worker) override;
  boost::asio::awaitable<KvStatus> CompareAndSet(std::string_view key, std::string_view expected,
                                                 std::string_view value,
                                                 std::chrono::milliseconds ttl,
                                                 int worker) override;
  boost::asio::awaitable<KvStatus> CompareAndDelete(std::string_view key, std::string_view expected,
                                                    int worker) override;
  boost::asio::awaitable<KvResult> Increment(std::string_view key, std::chrono::milliseconds ttl,
                                             int worker) override;
  boost::asio::awaitable<KvStatus> SetFenced(std::string_view key, std::int64_t token,
                                             std::string_view value, std::chrono::milliseconds ttl,
                                             int worker) override;
  boost::asio::awaitable<KvResult> GetFenced(std::string_view key, int worker) override;
  boost::asio::awaitable<KvResult> Scan(std::string_view prefix, std::size_t limit,
                                        int worker) override;
  std::string_view backend() const noexcept override { return "local"; }

  // The same operations without a coroutine (the store never waits).
  KvResult GetNow(std::string_view key);
  KvStatus SetNow(std::string_view key, std::string_view value, std::chrono::milliseconds ttl,
                  bool only_if_absent);
  KvStatus SetIfPresentNow(std::string_view key, std::string_view value,
                           std::chrono::milliseconds ttl);
  KvStatus DeleteNow(std::string_view key);
  // `erase`: delete instead of setting `value`.
  KvStatus CompareNow(std::string_view key, std::string_view expected, std::string_view value,
                      std::chrono::milliseconds ttl, bool erase);
  KvResult IncrementNow(std::string_view key, std::chrono::milliseconds ttl);
  KvStatus SetFencedNow(std::string_view key, std::int64_t token, std::string_view value,
                        std::chrono::milliseconds ttl);
  KvResult GetFencedNow(std::string_view key);
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string value;
    SteadyTime expires;
  };
  // Not noexcept on purpose: libstdc++ then keeps each node's hash code, so walking a bucket,
  // erasing and rehashing never hash a key again (keys are 60-odd bytes).
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;
    SteadyTime next_sweep{};  // full: no entry expires before this
    std::size_t cursor = 0;   // the next bucket SweepSome looks at
  };
  Shard& ShardOf(std::string_view key) noexcept { return shards_[Hash{}(key) % kShards]; }
  // Room for one more key in `s` (locked): expired entries go first.
  bool MakeRoom(Shard& s, SteadyTime now);
  // Drops the expired entries of the next few buckets of `s` (locked).
  static void SweepSome(Shard& s, SteadyTime now);

  std::size_t max_per_shard_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace rampart::state
