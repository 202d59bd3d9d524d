#include "gates/blackhole/blackhole_sync.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <chrono>
#include <vector>

#include "core/wall_clock.h"
#include "state/redis/redis_client.h"

namespace rampart::gates {

namespace asio = boost::asio;
using state::redis::Reply;

namespace {

constexpr auto kInterval = std::chrono::milliseconds(500);
constexpr std::size_t kMaxRead = Blackhole::kCapacity;
// Command words as views with static storage (GCC 12 mis-compiles string literals in a braced
// list inside a coroutine).
constexpr std::string_view kZadd = "ZADD", kGt = "GT", kZrem = "ZREM",
                           kZremRange = "ZREMRANGEBYSCORE", kZrevrange = "ZREVRANGEBYSCORE",
                           kMinusInf = "-inf", kPlusInf = "+inf", kScores = "WITHSCORES",
                           kLimit = "LIMIT", kZero = "0";

}  // namespace

BlackholeSync::BlackholeSync(asio::any_io_executor control, Blackhole& table)
    : control_(std::move(control)), table_(table) {}

BlackholeSync::~BlackholeSync() {
  if (client_) client_->Stop();
}

void BlackholeSync::Configure(const std::optional<state::redis::Options>& options) {
  const std::string identity = options ? options->Identity() : std::string();
  if (identity == identity_) return;
  identity_ = identity;
  ++generation_;
  if (client_) {
    client_->Stop();
    client_.reset();
  }
  if (!options) {
    table_.DisableSharing();
    return;
  }
  table_.EnableSharing();
  client_ = std::make_shared<state::redis::Client>(control_, *options, "blackhole");
  client_->Start();
  asio::co_spawn(control_, Loop(client_, generation_), asio::detached);
  spdlog::info("blackhole: shared through Redis {}:{}", options->host, options->port);
}

asio::awaitable<void> BlackholeSync::Loop(std::shared_ptr<state::redis::Client> client,
                                          std::uint64_t generation) {
  asio::steady_timer timer(control_);
  bool reported = false;
  while (generation == generation_) {
    timer.expires_after(kInterval);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (generation != generation_) break;
    if (!client->up()) continue;  // the client reconnects by itself; holes wait in the table
    if (co_await Round(*client)) {
      ok_.fetch_add(1, std::memory_order_relaxed);
      reported = false;
    } else {
      failed_.fetch_add(1, std::memory_order_relaxed);
      if (!reported) spdlog::warn("blackhole: Redis round failed; holes stay local meanwhile");
      reported = true;
    }
  }
}

asio::awaitable<bool> BlackholeSync::Round(state::redis::Client& client) {
  boost::system::error_code ec;
  // 1. What this instance decided. A change that fails goes back to be published next time.
  std::vector<Blackhole::Change> changes = table_.TakeChanges();
  const std::int64_t now_ms = WallMillis();
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const Blackhole::Change& c = changes[i];
    Reply r;
    if (c.remaining.count() > 0) {
      if (c.until_ms <= now_ms) continue;  // ended while it waited to be published
      const std::string until = std::to_string(c.until_ms);
      // GT: a longer hole set elsewhere is not shortened (Redis 6.2).
      const std::vector<std::string_view> argv = {kZadd, kKey, kGt, until, c.address};
      r = co_await client.Call(argv, ec);
    } else {
      const std::vector<std::string_view> argv = {kZrem, kKey, c.address};
      r = co_await client.Call(argv, ec);
    }
    if (ec || r.is_error()) {
      if (r.is_error()) spdlog::warn("blackhole: Redis: {}", r.str);
      table_.Requeue({changes.begin() + static_cast<std::ptrdiff_t>(i), changes.end()});
      co_return false;
    }
  }
  // 2. Ended holes leave the set; 3. the rest come back, with their time left.
  const std::string now_text = std::to_string(now_ms);
  const std::vector<std::string_view> prune = {kZremRange, kKey, kMinusInf, now_text};
  Reply pruned = co_await client.Call(prune, ec);
  if (ec || pruned.is_error()) co_return false;
  // Longest first: if the set holds more than a read takes, the holes left out are the shortest.
  const std::string to = "(" + now_text;
  const std::string limit = std::to_string(kMaxRead);
  const std::vector<std::string_view> read = {kZrevrange, kKey,   kPlusInf, to,
                                              kScores,    kLimit, kZero,    limit};
  Reply list = co_await client.Call(read, ec);
  if (ec || list.type != Reply::Type::kArray) co_return false;
  std::vector<Blackhole::Change> shared;
  shared.reserve(list.elements.size() / 2);
  for (std::size_t i = 0; i + 1 < list.elements.size(); i += 2) {
    const std::string& score = list.elements[i + 1].str;
    std::int64_t until = 0;
    if (std::from_chars(score.data(), score.data() + score.size(), until).ec != std::errc()) {
      continue;  // a score written by something else (a float): not ours to read
    }
    if (until <= now_ms) continue;
    shared.push_back({list.elements[i].str, std::chrono::milliseconds(until - now_ms)});
  }
  // A list cut at the read limit is not the whole set: lifting what it lacks would let a flood
  // of new holes lift the longest bans.
  const bool complete = list.elements.size() / 2 < kMaxRead;
  table_.MergeShared(shared, std::chrono::steady_clock::now(), complete);
  co_return true;
}

}  // namespace rampart::gates
