// What I/O on one event loop needs besides the loop itself: its reactor (for drained reads), a
// pool of read buffers, and the loop's clock, read once per I/O event. A worker has one; so does
// the control thread, for the outbound client. Single-threaded: only the loop's thread uses it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "core/clock.h"
#include "net/drained_recv.h"
#include "net/io_buffer.h"

namespace rampart::net {

class LoopContext {
 public:
  LoopContext(boost::asio::io_context& io, std::size_t buffer_block, std::size_t max_free_buffers)
      : io_(io), reactor_(ReactorOf(io)), buffers_(buffer_block, max_free_buffers) {}
  LoopContext(const LoopContext&) = delete;
  LoopContext& operator=(const LoopContext&) = delete;

  boost::asio::io_context& io() noexcept { return io_; }
  Reactor& reactor() noexcept { return reactor_; }
  BufferPool& buffers() noexcept { return buffers_; }
  SteadyTime now() const noexcept { return now_; }
  SteadyTime RefreshNow() noexcept { return now_ = std::chrono::steady_clock::now(); }

 private:
  boost::asio::io_context& io_;
  Reactor& reactor_;
  BufferPool buffers_;
  SteadyTime now_ = std::chrono::steady_clock::now();
};

}  // namespace rampart::net
