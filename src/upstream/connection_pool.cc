#include "upstream/connection_pool.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

namespace rampart::upstream {

void UpstreamConnection::Abort() noexcept {
  boost::system::error_code ec;
  if (!socket.is_open()) return;
  socket.set_option(boost::asio::socket_base::linger(true, 0), ec);
  socket.close(ec);
}

void UpstreamConnection::JoinInUse(UpstreamConnection*& head) noexcept {
  LeaveInUse();
  in_use_head_ = &head;
  in_use_prev_ = nullptr;
  in_use_next_ = head;
  if (head != nullptr) head->in_use_prev_ = this;
  head = this;
}

void UpstreamConnection::LeaveInUse() noexcept {
  if (in_use_head_ == nullptr) return;
  if (in_use_prev_ != nullptr)
    in_use_prev_->in_use_next_ = in_use_next_;
  else
    *in_use_head_ = in_use_next_;
  if (in_use_next_ != nullptr) in_use_next_->in_use_prev_ = in_use_prev_;
  in_use_head_ = nullptr;
  in_use_prev_ = in_use_next_ = nullptr;
}

void UpstreamConnection::Cut() noexcept {
  cut = true;
  boost::system::error_code ec;
  if (!socket.is_open()) return;
  socket.cancel(ec);
  socket.shutdown(boost::asio::socket_base::shutdown_receive, ec);
}

ConnectionPool::~ConnectionPool() {
  for (auto& [_, slot] : slots_) {
    for (auto& i : slot.idle) {
      boost::system::error_code ec;
      i.conn->socket.close(ec);
    }
  }
}

ConnectionPool::Slot& ConnectionPool::For(const EndpointSpec& ep) {
  auto it = slots_.find(std::string_view(ep.key));
  if (it == slots_.end()) it = slots_.emplace(ep.key, Slot{}).first;
  it->second.retired = false;  // a request goes there: a reload listed the endpoint again
  return it->second;
}

std::uint32_t ConnectionPool::active_or_zero(const EndpointSpec& ep) const noexcept {
  auto it = slots_.find(std::string_view(ep.key));
  return it == slots_.end() ? 0 : it->second.active;
}

std::unique_ptr<UpstreamConnection> ConnectionPool::TakeIdle(Slot& slot, SteadyTime now) {
  while (!slot.idle.empty()) {
    // Most recently used first: it is the most likely to still be open at the origin.
    std::unique_ptr<UpstreamConnection> conn = std::move(slot.idle.back().conn);
    slot.idle.pop_back();
    if (now - conn->idle_since < kTrustIdleFor || StillOpen(*conn)) return conn;
  }
  return nullptr;
}

void ConnectionPool::GiveBack(Slot& slot, std::unique_ptr<UpstreamConnection> conn,
                              std::uint32_t max_idle, std::chrono::microseconds idle_timeout,
                              SteadyTime now) {
  const std::uint32_t limit =
      std::max(max_idle, std::min(std::max(slot.peak, slot.last_peak), kMaxIdleFromPeak));
  // A removed endpoint keeps no connection; beyond the limit neither (conn closes as it goes).
  if (slot.retired || slot.idle.size() >= limit) return;
  conn->idle_since = now;
  slot.idle.push_back({std::move(conn), idle_timeout});
}

bool ConnectionPool::StillOpen(UpstreamConnection& conn) noexcept {
  char byte;
  ssize_t n = ::recv(conn.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void ConnectionPool::Sweep(SteadyTime now) {
  const bool roll = now >= window_end_;
  if (roll) window_end_ = now + kPeakWindow;
  for (auto& [_, slot] : slots_) {
    if (roll) {
      slot.last_peak = slot.peak;
      slot.peak = slot.active;
    }
    std::erase_if(slot.idle, [now](const Slot::Idle& i) {
      return now - i.conn->idle_since >= i.timeout || !StillOpen(*i.conn);
    });
  }
}

void ConnectionPool::CloseIdle(std::string_view key) {
  if (auto it = slots_.find(key); it != slots_.end()) it->second.idle.clear();
}

std::size_t ConnectionPool::CutInUse(std::string_view key, const void* owner) {
  auto it = slots_.find(key);
  if (it == slots_.end()) return 0;
  std::size_t n = 0;
  for (UpstreamConnection* c = it->second.in_use; c != nullptr; c = c->in_use_next_) {
    if (c->cut || (owner != nullptr && c->owner != owner)) continue;  // counted once
    c->Cut();
    ++n;
  }
  return n;
}

void ConnectionPool::CloseIdleExcept(const std::function<bool(std::string_view)>& kept) {
  for (auto& [key, slot] : slots_) {
    if (kept(key)) continue;
    slot.idle.clear();
    slot.retired = true;
  }
}

std::size_t ConnectionPool::idle_count() const noexcept {
  std::size_t n = 0;
  for (const auto& [_, slot] : slots_) n += slot.idle.size();
  return n;
}

}  // namespace rampart::upstream
