#include "gates/cache/fill.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace rampart::cache {

namespace asio = boost::asio;

void Fill::WakeLocked() noexcept {
  for (auto& r : readers_) {
    // Cancelled on the reader's own loop (a timer is not thread-safe); the reader is suspended
    // in async_wait by then, as in Flights::Wake.
    if (auto t = r.timer.lock()) asio::post(r.executor, [t = std::move(t)] { t->cancel(); });
  }
  readers_.clear();
}

void Fill::Append(std::string_view piece) {
  if (piece.empty()) return;
  std::lock_guard lock(mu_);
  if (done_) return;
  body_.append(piece);
  if (body_.size() > length_) {  // more than the origin declared: not this answer
    cut_ = done_ = true;
  }
  WakeLocked();
}

void Fill::End(bool whole) {
  std::lock_guard lock(mu_);
  if (done_) return;
  done_ = true;
  cut_ = !whole || body_.size() != length_;
  WakeLocked();
}

asio::awaitable<bool> Fill::Read(std::size_t offset, std::string& out, bool& end) {
  auto executor = co_await asio::this_coro::executor;
  for (;;) {
    std::shared_ptr<asio::steady_timer> timer;
    {
      std::lock_guard lock(mu_);
      if (cut_) co_return false;
      if (offset < body_.size()) {
        out.append(body_, offset, std::string::npos);
        end = done_ && body_.size() == length_;
        co_return true;
      }
      if (done_) {
        end = true;
        co_return true;
      }
      timer = std::make_shared<asio::steady_timer>(executor);
      timer->expires_after(wait_);
      readers_.push_back({executor, timer});
    }
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec != asio::error::operation_aborted) {  // nothing came in time
      std::lock_guard lock(mu_);
      std::erase_if(readers_, [&](const Reader& r) { return r.timer.lock() == timer; });
      co_return false;
    }
  }
}

}  // namespace rampart::cache
