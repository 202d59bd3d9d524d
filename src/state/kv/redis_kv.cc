#include "state/kv/redis_kv.h"

#include <boost/asio/this_coro.hpp>

#include "state/kv/fenced_value.h"

namespace rampart::state {

namespace asio = boost::asio;

namespace {

// INCR, and the expiry set once when the counter is new: atomic on the server.
constexpr std::string_view kIncrement =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n";

// Compare, then set or delete, atomically on the server: 1 done, 0 absent, -1 another value.
constexpr std::string_view kCompareAndSet =
    "local v = redis.call('GET', KEYS[1]) if not v then return 0 end "
    "if v ~= ARGV[1] then return -1 end "
    "redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) return 1";
constexpr std::string_view kCompareAndDelete =
    "local v = redis.call('GET', KEYS[1]) if not v then return 0 end "
    "if v ~= ARGV[1] then return -1 end redis.call('DEL', KEYS[1]) return 1";

// A fenced write (fenced_value.h): refused (0) when the key holds a fenced value with larger
// digits, else written (1). The 20 digits are compared as two 10-digit halves, which Lua's
// doubles hold exactly.
constexpr std::string_view kSetFenced =
    "local v = redis.call('GET', KEYS[1]) "
    "if v and string.byte(v, 21) == 10 and string.find(string.sub(v, 1, 20), '^%d+$') then "
    "local a, b = tonumber(string.sub(v, 1, 10)), tonumber(string.sub(ARGV[1], 1, 10)) "
    "if a > b or (a == b and tonumber(string.sub(v, 11, 20)) > tonumber(string.sub(ARGV[1], 11))) "
    "then return 0 end end "
    "redis.call('SET', KEYS[1], ARGV[1] .. '\\n' .. ARGV[2], 'PX', ARGV[3]) return 1";

KvStatus CompareStatus(const redis::Reply& r, const boost::system::error_code& ec) noexcept {
  if (ec || r.type != redis::Reply::Type::kInteger) return KvStatus::kUnavailable;
  if (r.integer > 0) return KvStatus::kOk;
  return r.integer == 0 ? KvStatus::kNotFound : KvStatus::kExists;
}

}  // namespace

asio::awaitable<redis::Client*> RedisKv::Client(int worker) {
  auto ex = co_await asio::this_coro::executor;
  redis::Client& c = pool_->For(worker, ex);
  if (!c.up() && c.starting()) co_await c.AwaitFirstAttempt();
  co_return c.up() ? &c : nullptr;
}

asio::awaitable<KvResult> RedisKv::Get(std::string_view key, int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvResult{KvStatus::kUnavailable, {}, 0};
  const std::string k = prefix_ + std::string(key);
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"GET", k};
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.is_error()) co_return KvResult{KvStatus::kUnavailable, {}, 0};
  if (r.type == redis::Reply::Type::kNil) co_return KvResult{KvStatus::kNotFound, {}, 0};
  co_return KvResult{KvStatus::kOk, std::move(r.str), 0};
}

asio::awaitable<std::array<KvResult, 2>> RedisKv::GetTwo(std::string_view a, std::string_view b,
                                                         int worker) {
  const std::array<KvResult, 2> down{KvResult{KvStatus::kUnavailable, {}, 0},
                                     KvResult{KvStatus::kUnavailable, {}, 0}};
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return down;
  const std::string ka = prefix_ + std::string(a);
  const std::string kb = prefix_ + std::string(b);
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"MGET", ka, kb};
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.is_error() || r.type != redis::Reply::Type::kArray || r.elements.size() != 2) {
    co_return down;
  }
  std::array<KvResult, 2> out;
  for (std::size_t i = 0; i < 2; ++i) {
    redis::Reply& e = r.elements[i];
    out[i] = e.type == redis::Reply::Type::kNil ? KvResult{KvStatus::kNotFound, {}, 0}
                                                : KvResult{KvStatus::kOk, std::move(e.str), 0};
  }
  co_return out;
}

asio::awaitable<KvStatus> RedisKv::SetImpl(std::string_view key, std::string_view value,
                                           std::chrono::milliseconds ttl, int worker,
                                           std::string_view condition) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvStatus::kUnavailable;
  const std::string k = prefix_ + std::string(key);
  const std::string ms = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  std::vector<std::string_view> argv = {"SET", k, value, "PX", ms};
  if (!condition.empty()) argv.push_back(condition);
  boost::system::error_code ec;
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.is_error()) co_return KvStatus::kUnavailable;
  if (r.type == redis::Reply::Type::kNil) {  // the condition did not hold
    co_return condition == "XX" ? KvStatus::kNotFound : KvStatus::kExists;
  }
  co_return KvStatus::kOk;
}

asio::awaitable<KvStatus> RedisKv::Set(std::string_view key, std::string_view value,
                                       std::chrono::milliseconds ttl, int worker) {
  co_return co_await SetImpl(key, value, ttl, worker, {});
}

asio::awaitable<KvStatus> RedisKv::SetIfAbsent(std::string_view key, std::string_view value,
                                               std::chrono::milliseconds ttl, int worker) {
  co_return co_await SetImpl(key, value, ttl, worker, "NX");
}

asio::awaitable<KvStatus> RedisKv::SetIfPresent(std::string_view key, std::string_view value,
                                                std::chrono::milliseconds ttl, int worker) {
  co_return co_await SetImpl(key, value, ttl, worker, "XX");
}

asio::awaitable<KvStatus> RedisKv::Delete(std::string_view key, int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvStatus::kUnavailable;
  const std::string k = prefix_ + std::string(key);
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"DEL", k};
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.is_error()) co_return KvStatus::kUnavailable;
  co_return r.integer > 0 ? KvStatus::kOk : KvStatus::kNotFound;
}

asio::awaitable<KvStatus> RedisKv::CompareAndSet(std::string_view key, std::string_view expected,
                                                 std::string_view value,
                                                 std::chrono::milliseconds ttl, int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvStatus::kUnavailable;
  const std::string k = prefix_ + std::string(key);
  const std::string ms = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"EVAL", kCompareAndSet, "1", k, expected, value, ms};
  redis::Reply r = co_await c->Call(argv, ec);
  co_return CompareStatus(r, ec);
}

asio::awaitable<KvStatus> RedisKv::CompareAndDelete(std::string_view key, std::string_view expected,
                                                    int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvStatus::kUnavailable;
  const std::string k = prefix_ + std::string(key);
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"EVAL", kCompareAndDelete, "1", k, expected};
  redis::Reply r = co_await c->Call(argv, ec);
  co_return CompareStatus(r, ec);
}

asio::awaitable<KvStatus> RedisKv::SetFenced(std::string_view key, std::int64_t token,
                                             std::string_view value, std::chrono::milliseconds ttl,
                                             int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvStatus::kUnavailable;
  const std::string k = prefix_ + std::string(key);
  const std::string digits = FenceDigits(token);
  const std::string ms = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"EVAL", kSetFenced, "1", k, digits, value, ms};
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.type != redis::Reply::Type::kInteger) co_return KvStatus::kUnavailable;
  co_return r.integer > 0 ? KvStatus::kOk : KvStatus::kExists;
}

asio::awaitable<KvResult> RedisKv::GetFenced(std::string_view key, int worker) {
  KvResult r = co_await Get(key, worker);
  std::string_view value;
  if (r.status != KvStatus::kOk) co_return r;
  if (!ParseFenced(r.value, r.number, value)) co_return KvResult{KvStatus::kNotFound, {}, 0};
  r.value.erase(0, r.value.size() - value.size());
  co_return r;
}

asio::awaitable<KvResult> RedisKv::Increment(std::string_view key, std::chrono::milliseconds ttl,
                                             int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvResult{KvStatus::kUnavailable, {}, 0};
  const std::string k = prefix_ + std::string(key);
  const std::string ms = std::to_string(std::max<std::int64_t>(1, ttl.count()));
  boost::system::error_code ec;
  const std::vector<std::string_view> argv = {"EVAL", kIncrement, "1", k, ms};
  redis::Reply r = co_await c->Call(argv, ec);
  if (ec || r.type != redis::Reply::Type::kInteger)
    co_return KvResult{KvStatus::kUnavailable, {}, 0};
  co_return KvResult{KvStatus::kOk, std::to_string(r.integer), r.integer};
}

asio::awaitable<KvResult> RedisKv::Scan(std::string_view prefix, std::size_t limit, int worker) {
  redis::Client* c = co_await Client(worker);
  if (c == nullptr) co_return KvResult{KvStatus::kUnavailable, {}, 0};
  // MATCH is a glob: the literal prefix has its special characters escaped.
  std::string pattern;
  for (char ch : prefix_ + std::string(prefix)) {
    if (ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\') pattern += '\\';
    pattern += ch;
  }
  pattern += '*';
  KvResult out{KvStatus::kOk, {}, 0};
  std::string cursor = "0";
  do {
    boost::system::error_code ec;
    const std::vector<std::string_view> argv = {"SCAN", cursor, "MATCH", pattern, "COUNT", "500"};
    redis::Reply r = co_await c->Call(argv, ec);
    if (ec || r.is_error() || r.type != redis::Reply::Type::kArray || r.elements.size() != 2) {
      co_return KvResult{KvStatus::kUnavailable, {}, 0};
    }
    cursor = std::move(r.elements[0].str);
    for (auto& k : r.elements[1].elements) {
      if (out.keys.size() >= limit) co_return out;
      if (k.str.size() >= prefix_.size()) out.keys.push_back(k.str.substr(prefix_.size()));
    }
  } while (cursor != "0");
  co_return out;
}

}  // namespace rampart::state
