// One worker: an Asio event loop on its own thread with its own SO_REUSEPORT acceptors, buffer
// pool, upstream connection pool and sessions. Nothing here is shared with other workers except
// the snapshot (immutable) and the metrics slot it alone writes.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "net/drained_recv.h"
#include "net/io_buffer.h"
#include "net/loop_context.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "pipeline/exchange_state.h"
#include "server/background_exchanges.h"
#include "server/poll_window.h"
#include "server/snapshot.h"
#include "upstream/worker_pools.h"

namespace rampart::downstream {
class Http1Connection;
}

namespace rampart::server {

class Worker {
 public:
  // busy_poll: the longest adaptive polling window before the loop sleeps (PollWindow); 0 = off.
  Worker(int index, observe::Metrics& metrics, std::chrono::microseconds busy_poll);
  ~Worker();

  // Control thread, before Start(): acceptors are opened and bound by the control thread so a
  // bind error is reported before anything runs.
  boost::asio::io_context& io() noexcept { return io_; }
  void AddAcceptor(const std::string& listener_name, boost::asio::ip::tcp::acceptor acceptor);

  void Start(std::shared_ptr<const Snapshot> snap, std::shared_ptr<observe::AccessLog> log);
  // Thread-safe: posted to the worker's loop.
  void Install(std::shared_ptr<const Snapshot> snap, std::shared_ptr<observe::AccessLog> log,
               std::vector<std::pair<std::string, boost::asio::ip::tcp::acceptor>> added,
               std::vector<std::string> removed_listeners);
  void BeginDrain();
  // An operator drains endpoint `key`: its idle connections close, its HTTP/2 sessions take no
  // new streams.
  void DrainEndpoint(std::string key);
  // Its drain timed out: connections requests still hold to it are cut, counted in `stats`.
  // `owner` set: only connections of requests of that upstream's endpoint (an admin drain).
  void CutEndpoint(std::string key, observe::UpstreamStats* stats, const void* owner = nullptr);
  void Stop();
  void Join();
  std::int64_t active_connections() const noexcept {
    return metrics_.worker(index_).connections_active.load(std::memory_order_relaxed);
  }

  // Worker-thread state used by connections.
  int index() const noexcept { return index_; }
  const std::shared_ptr<const Snapshot>& snapshot() const noexcept { return snap_; }
  observe::AccessLog* access_log() const noexcept { return log_.get(); }
  observe::WorkerSlot& stats() noexcept { return metrics_.worker(index_); }
  net::LoopContext& loop() noexcept { return loop_; }
  net::BufferPool& buffers() noexcept { return loop_.buffers(); }
  net::Reactor& reactor() noexcept { return loop_.reactor(); }
  upstream::WorkerPools& pools() noexcept { return pools_; }
  BackgroundExchanges& background() noexcept { return background_; }
  bool draining() const noexcept { return draining_; }
  SteadyTime now() const noexcept { return loop_.now(); }
  SteadyTime RefreshNow() noexcept { return loop_.RefreshNow(); }

  std::unique_ptr<ExchangeState> TakeExchangeState();
  void GiveExchangeState(std::unique_ptr<ExchangeState> st);

  void Register(downstream::Http1Connection* c) noexcept;
  void Unregister(downstream::Http1Connection* c) noexcept;

 private:
  boost::asio::awaitable<void> AcceptLoop(std::string listener,
                                          boost::asio::ip::tcp::acceptor* acc);
  boost::asio::awaitable<void> TickLoop();
  void StartAcceptor(const std::string& listener, boost::asio::ip::tcp::acceptor acceptor);
  // The event loop: io_context::run, except that an idle loop polls for up to PollWindow's
  // window before it sleeps.
  void RunLoop();
  // Busy polling inside that one run(): a handler that re-posts itself keeps Asio's scheduler
  // polling epoll without blocking; it stops when no read came for the window, and the next
  // read starts it again (net/read_activity.h).
  void Spin();
  static void WakeSpin(void* self);

  int index_;
  observe::Metrics& metrics_;
  std::chrono::microseconds busy_poll_;
  struct SpinState {
    PollWindow window;
    std::uint64_t reads = 0;  // net::t_read_activity.reads at the last pass
    std::chrono::steady_clock::time_point idle_from{};  // first pass without a read; {}: busy
  } spin_;
  boost::asio::io_context io_{1};
  net::LoopContext loop_{io_, 16 * 1024, 1024};
  std::thread thread_;
  std::shared_ptr<const Snapshot> snap_;
  std::shared_ptr<observe::AccessLog> log_;
  std::vector<std::pair<std::string, std::unique_ptr<boost::asio::ip::tcp::acceptor>>> acceptors_;
  std::vector<std::pair<std::string, boost::asio::ip::tcp::acceptor>> pending_acceptors_;
  upstream::WorkerPools pools_{io_};
  std::vector<std::unique_ptr<ExchangeState>> free_states_;
  downstream::Http1Connection* connections_ = nullptr;  // intrusive list: timeouts, draining
  bool draining_ = false;
  BackgroundExchanges background_{*this};
  boost::asio::steady_timer tick_{io_};
};

}  // namespace rampart::server
