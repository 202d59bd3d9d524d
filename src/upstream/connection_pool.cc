#include "upstream/connection_pool.h"

namespace rampart::upstream {

ConnectionPool::~ConnectionPool() {
  for (auto& [_, p] : pools_) {
    for (auto& i : p.idle) {
      boost::system::error_code ec;
      i.conn->socket.close(ec);
    }
  }
}

ConnectionPool::EndpointPool& ConnectionPool::Get(std::string_view key) {
  auto it = pools_.find(key);
  if (it == pools_.end()) it = pools_.emplace(std::string(key), EndpointPool{}).first;
  return it->second;
}

std::uint32_t ConnectionPool::active_or_zero(const EndpointSpec& ep) const noexcept {
  auto it = pools_.find(std::string_view(ep.key));
  return it == pools_.end() ? 0 : it->second.active;
}

std::unique_ptr<UpstreamConnection> ConnectionPool::TakeIdle(const EndpointSpec& ep) {
  EndpointPool& p = Get(ep.key);
  while (!p.idle.empty()) {
    // Most recently used first: it is the most likely to still be open at the origin.
    std::unique_ptr<UpstreamConnection> conn = std::move(p.idle.back().conn);
    p.idle.pop_back();
    boost::system::error_code ec;
    conn->socket.cancel(ec);  // ends the idle watch (a user-space operation, no syscall)
    if (!ec && conn->socket.is_open()) return conn;
  }
  return nullptr;
}

void ConnectionPool::GiveBack(const EndpointSpec& ep, std::unique_ptr<UpstreamConnection> conn,
                              std::uint32_t max_idle, std::chrono::microseconds idle_timeout,
                              SteadyTime now) {
  EndpointPool& p = Get(ep.key);
  if (p.idle.size() >= max_idle) return;  // conn closes as it goes out of scope
  conn->idle_since = now;
  UpstreamConnection* raw = conn.get();
  std::string key = ep.key;
  p.idle.push_back({std::move(conn), idle_timeout});
  // Readable while idle means closed by the origin (or unasked-for bytes): drop it.
  raw->socket.async_wait(boost::asio::ip::tcp::socket::wait_read,
                         [this, raw, key = std::move(key)](const boost::system::error_code& ec) {
                           if (ec == boost::asio::error::operation_aborted) return;
                           Drop(key, raw);
                         });
}

void ConnectionPool::Drop(const std::string& key, UpstreamConnection* conn) {
  auto it = pools_.find(key);
  if (it == pools_.end()) return;
  auto& idle = it->second.idle;
  for (auto i = idle.begin(); i != idle.end(); ++i) {
    if (i->conn.get() == conn) {
      idle.erase(i);
      return;
    }
  }
}

void ConnectionPool::Sweep(SteadyTime now) {
  for (auto& [_, p] : pools_) {
    std::erase_if(p.idle, [now](const Idle& i) { return now - i.conn->idle_since >= i.timeout; });
  }
}

std::size_t ConnectionPool::idle_count() const noexcept {
  std::size_t n = 0;
  for (const auto& [_, p] : pools_) n += p.idle.size();
  return n;
}

}  // namespace rampart::upstream
