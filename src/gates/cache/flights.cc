#include "gates/cache/flights.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::cache {

namespace asio = boost::asio;

void Flights::Wake(std::vector<Waiter>& waiters, bool failed) noexcept {
  for (auto& w : waiters) {
    if (w.failed) *w.failed = failed;  // read by its waiter on its own loop, after the wake-up
    // A timer is not thread-safe: it is cancelled on its own loop. The waiter is suspended in
    // async_wait by then (it registered under the lock, then started waiting before its loop
    // could run this).
    if (auto t = w.timer.lock()) asio::post(w.executor, [t = std::move(t)] { t->cancel(); });
  }
  waiters.clear();
}

void Flights::Sweep(SteadyTime now) {
  std::erase_if(flights_, [now](const auto& kv) {
    return kv.second.token == 0 && kv.second.until <= now && kv.second.waiters.empty();
  });
  sweep_at_ = std::max(kSweepAt, 2 * flights_.size());
}

Flights::Claim Flights::Lead(std::string_view key, SteadyTime now,
                             std::chrono::microseconds lease) {
  return Lead(key, KeyedHash(key), now, lease);
}

Flights::Claim Flights::Lead(std::string_view key, std::uint64_t hash, SteadyTime now,
                             std::chrono::microseconds lease) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(Hashed{key, hash});
  if (it != flights_.end()) {
    if (now < it->second.until && !it->second.reserved) {
      return {it->second.token == 0 ? Role::kPass : Role::kWait, 0};
    }
    // The leader's lease (or the pass mark) passed: whoever waited on it goes to look again,
    // and this one leads.
    Wake(it->second.waiters);
  } else {
    if (flights_.size() >= sweep_at_) Sweep(now);
    it = flights_.emplace(std::string(key), Flight{}).first;
  }
  it->second.token = next_++;
  it->second.until = now + lease;
  it->second.reserved = false;
  it->second.fill.reset();
  return {Role::kLead, it->second.token};
}

bool Flights::Reserve(std::string_view key, SteadyTime now, std::chrono::microseconds lease) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(key);
  if (it != flights_.end() && now < it->second.until) return false;  // led, held, or passing
  if (it == flights_.end()) {
    if (flights_.size() >= sweep_at_) Sweep(now);
    it = flights_.emplace(std::string(key), Flight{}).first;
  } else {
    Wake(it->second.waiters);
  }
  it->second.token = next_++;
  it->second.until = now + lease;
  it->second.reserved = true;
  it->second.fill.reset();
  return true;
}

void Flights::Land(std::string_view key, Token token, SteadyTime pass_until, bool failed) noexcept {
  if (token == 0) return;
  std::lock_guard lock(mu_);
  auto it = flights_.find(key);
  if (it == flights_.end() || it->second.token != token) return;  // a later leader took over
  Wake(it->second.waiters, failed);
  if (pass_until != SteadyTime{} && flights_.size() < kMaxEntries) {  // kept as a pass mark
    it->second.token = 0;
    it->second.until = pass_until;
    it->second.fill.reset();
  } else {
    flights_.erase(it);
  }
}

void Flights::Offer(std::string_view key, Token token, std::shared_ptr<Fill> fill) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(key);
  if (it == flights_.end() || it->second.token != token) return;
  it->second.fill = std::move(fill);
  Wake(it->second.waiters);
}

asio::awaitable<Flights::Waited> Flights::Wait(std::string key, std::chrono::microseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  timer->expires_after(timeout);
  auto failed = std::make_shared<bool>(false);
  {
    std::lock_guard lock(mu_);
    auto it = flights_.find(key);
    // Landed before this one could wait (or it is only a pass mark now).
    if (it == flights_.end() || it->second.token == 0) co_return Waited{true, false, nullptr};
    if (it->second.fill) co_return Waited{false, false, it->second.fill};
    it->second.waiters.push_back({executor, timer, failed});
  }
  auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mu_);
  auto it = flights_.find(key);
  if (ec != asio::error::operation_aborted) {  // timed out: off the list
    if (it != flights_.end()) {
      std::erase_if(it->second.waiters, [&](const Waiter& w) { return w.timer.lock() == timer; });
    }
    co_return Waited{false, false, nullptr};
  }
  if (it != flights_.end() && it->second.token != 0 && it->second.fill) {
    co_return Waited{false, false, it->second.fill};
  }
  co_return Waited{true, *failed, nullptr};
}

std::size_t Flights::leading() const {
  std::lock_guard lock(mu_);
  return flights_.size();
}

}  // namespace rampart::cache
