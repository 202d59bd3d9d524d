// The in-process key-value store: sharded hash maps under a mutex each, entries with an expiry
// on an injectable clock. Expired entries are dropped when met and by a sweep of the shard when
// it fills; a store at its bound answers kUnavailable rather than drop a live entry (a lock or a
// session must not vanish because another key came).
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
  // `value` null: delete.
  KvStatus CompareNow(std::string_view key, std::string_view expected, const std::string* value,
                      std::chrono::milliseconds ttl);
  KvResult IncrementNow(std::string_view key, std::chrono::milliseconds ttl);
  std::size_t size() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct Entry {
    std::string value;
    SteadyTime expires;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, Hash, std::equal_to<>> map;
  };
  Shard& ShardOf(std::string_view key) noexcept { return shards_[Hash{}(key) % kShards]; }
  // Room for one more key in `s` (locked): expired entries go first.
  bool MakeRoom(Shard& s, SteadyTime now);

  std::size_t max_per_shard_;
  Clock clock_;
  std::array<Shard, kShards> shards_;
};

}  // namespace rampart::state
