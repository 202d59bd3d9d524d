#include "gates/cache/flights.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::cache {

namespace asio = boost::asio;

void Flights::Wake(std::vector<Waiter>& waiters) noexcept {
  for (auto& w : waiters) {
    // A timer is not thread-safe: it is cancelled on its own loop. The waiter is suspended in
    // async_wait by then (it registered under the lock, then started waiting before its loop
    // could run this).
    asio::post(w.executor, [t = std::move(w.timer)] { t->cancel(); });
  }
  waiters.clear();
}

Flights::Token Flights::Lead(std::string_view key, SteadyTime now,
                             std::chrono::microseconds lease) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(std::string(key));
  if (it != flights_.end()) {
    if (now < it->second.until) return 0;
    // The leader's lease passed: whoever waited on it goes to look again, and this one leads.
    Wake(it->second.waiters);
  } else {
    it = flights_.emplace(std::string(key), Flight{}).first;
  }
  it->second.token = next_++;
  it->second.until = now + lease;
  return it->second.token;
}

bool Flights::Busy(std::string_view key, SteadyTime now) {
  std::lock_guard lock(mu_);
  auto it = flights_.find(std::string(key));
  return it != flights_.end() && now < it->second.until;
}

void Flights::Land(std::string_view key, Token token) noexcept {
  if (token == 0) return;
  std::lock_guard lock(mu_);
  auto it = flights_.find(std::string(key));
  if (it == flights_.end() || it->second.token != token) return;  // a later leader took over
  Wake(it->second.waiters);
  flights_.erase(it);
}

asio::awaitable<bool> Flights::Wait(std::string key, std::chrono::microseconds timeout) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor);
  timer->expires_after(timeout);
  {
    std::lock_guard lock(mu_);
    auto it = flights_.find(key);
    if (it == flights_.end()) co_return true;  // landed before this one could wait
    it->second.waiters.push_back({executor, timer});
  }
  auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
  co_return ec == asio::error::operation_aborted;
}

std::size_t Flights::leading() const {
  std::lock_guard lock(mu_);
  return flights_.size();
}

}  // namespace rampart::cache
