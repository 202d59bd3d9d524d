// The key-value store on Redis, through the workers' pipelined clients (state/redis/): SET with
// PX (and NX for set-if-absent), GET, DEL; INCR with its PEXPIRE, compare-and-set and fenced
// writes as Lua scripts, atomic on the server. A client that is down answers kUnavailable at once
// (it reconnects in the background); a command without a reply within the timeout answers
// kUnavailable too.
#pragma once

#include <memory>

#include "state/kv/kv_store.h"
#include "state/redis/redis_pool.h"

namespace rampart::state {

class RedisKv final : public KvStore {
 public:
  // Keys are stored as "<prefix><key>" (a namespace per user of the store).
  RedisKv(std::shared_ptr<redis::Pool> pool, std::string prefix)
      : pool_(std::move(pool)), prefix_(std::move(prefix)) {}

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
  std::string_view backend() const noexcept override { return "redis"; }

 private:
  // The worker's client when it is up, else null.
  boost::asio::awaitable<redis::Client*> Client(int worker);
  boost::asio::awaitable<KvStatus> SetImpl(std::string_view key, std::string_view value,
                                           std::chrono::milliseconds ttl, int worker,
                                           std::string_view condition);

  std::shared_ptr<redis::Pool> pool_;
  std::string prefix_;
};

}  // namespace rampart::state
