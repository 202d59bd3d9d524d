// A key-value store with expiry and an atomic set-if-absent, for the state gates keep beyond one
// exchange: sessions, revocations, locks with fencing tokens, idempotency records. In process
// (LocalKv, shared by every worker of the process) or on Redis (RedisKv, shared by every
// instance); KvFallback puts the second behind the first as the configuration says. Calls are
// made from a worker's loop (Redis clients are per worker) and never wait longer than the
// store's timeout.
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::state {

enum class KvStatus : std::uint8_t {
  kOk,
  kNotFound,     // Get: no such key (or it expired)
  kExists,       // SetIfAbsent: the key is already there; CompareAnd*: it holds another value;
                 // SetFenced: it holds a value written with a larger token
  kUnavailable,  // the store did not answer in time, is down, or (in process) is full
};

std::string_view KvStatusToken(KvStatus s) noexcept;

struct KvResult {
  KvStatus status = KvStatus::kNotFound;
  std::string value;              // Get, GetFenced
  std::int64_t number = 0;        // Increment: the new value; GetFenced: the value's token
  std::vector<std::string> keys;  // Scan
};

class KvStore {
 public:
  virtual ~KvStore() = default;
  // `worker`: the calling worker's index (its Redis connection).
  virtual boost::asio::awaitable<KvResult> Get(std::string_view key, int worker) = 0;
  // Two keys in one round trip (MGET): a session and its principal's cut-off, a token's jti and
  // subject. When the store is unavailable both answers say so.
  virtual boost::asio::awaitable<std::array<KvResult, 2>> GetTwo(std::string_view a,
                                                                 std::string_view b,
                                                                 int worker) = 0;
  virtual boost::asio::awaitable<KvStatus> Set(std::string_view key, std::string_view value,
                                               std::chrono::milliseconds ttl, int worker) = 0;
  // Sets only when the key is absent (or expired): kOk when this call set it, else kExists.
  virtual boost::asio::awaitable<KvStatus> SetIfAbsent(std::string_view key, std::string_view value,
                                                       std::chrono::milliseconds ttl,
                                                       int worker) = 0;
  // Sets only when the key is there (and not expired): kOk when this call set it, else
  // kNotFound. A refresh never brings back what a delete removed.
  virtual boost::asio::awaitable<KvStatus> SetIfPresent(std::string_view key,
                                                        std::string_view value,
                                                        std::chrono::milliseconds ttl,
                                                        int worker) = 0;
  virtual boost::asio::awaitable<KvStatus> Delete(std::string_view key, int worker) = 0;
  // Sets only when the key holds exactly `expected`: kOk when this call set it, kNotFound when
  // the key is absent (or expired), kExists when it holds another value. A lock holder writes
  // its result this way, so one whose lease passed to another holder cannot overwrite theirs.
  virtual boost::asio::awaitable<KvStatus> CompareAndSet(std::string_view key,
                                                         std::string_view expected,
                                                         std::string_view value,
                                                         std::chrono::milliseconds ttl,
                                                         int worker) = 0;
  // Deletes only when the key holds exactly `expected` (answers as CompareAndSet).
  virtual boost::asio::awaitable<KvStatus> CompareAndDelete(std::string_view key,
                                                            std::string_view expected,
                                                            int worker) = 0;
  // Adds one to a counter (created at 1 with `ttl` when absent): fencing tokens, generations.
  virtual boost::asio::awaitable<KvResult> Increment(std::string_view key,
                                                     std::chrono::milliseconds ttl, int worker) = 0;
  // Writes `value` under `key` tagged with fencing token `token` (from Increment), unless the
  // key holds a value written with a larger token: kOk when written, kExists when a newer
  // holder's value is there (the caller's lease passed to someone else, who wrote first). A lock
  // holder that paused past its lease cannot overwrite what a newer holder wrote. An equal token
  // may rewrite; a value the key holds from a plain Set counts as no holder's. Values are bytes.
  virtual boost::asio::awaitable<KvStatus> SetFenced(std::string_view key, std::int64_t token,
                                                     std::string_view value,
                                                     std::chrono::milliseconds ttl, int worker) = 0;
  // Get of a key written by SetFenced: the value without its token; result.number = the token.
  // kNotFound also when the key holds a value SetFenced did not write.
  virtual boost::asio::awaitable<KvResult> GetFenced(std::string_view key, int worker) = 0;
  // Up to `limit` live keys that start with `prefix`, in no order: for admin listings, never the
  // request path (on Redis it walks the keyspace with SCAN).
  virtual boost::asio::awaitable<KvResult> Scan(std::string_view prefix, std::size_t limit,
                                                int worker) = 0;
  virtual std::string_view backend() const noexcept = 0;  // "local", "redis"
};

}  // namespace rampart::state
