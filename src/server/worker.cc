#include "server/worker.h"

#include <unordered_set>

#include "downstream/http1_connection.h"
#include "net/read_activity.h"

namespace rampart::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
constexpr auto kTick = std::chrono::milliseconds(100);
constexpr std::size_t kMaxFreeRequestStates = 1024;
}  // namespace

Worker::Worker(int index, observe::Metrics& metrics, std::chrono::microseconds busy_poll)
    : index_(index), metrics_(metrics), busy_poll_(busy_poll), spin_{PollWindow(busy_poll)} {}

Worker::~Worker() {
  Stop();
  Join();
}

void Worker::AddAcceptor(const std::string& listener_name, tcp::acceptor acceptor) {
  pending_acceptors_.emplace_back(listener_name, std::move(acceptor));
}

void Worker::StartAcceptor(const std::string& listener, tcp::acceptor acceptor) {
  auto acc = std::make_unique<tcp::acceptor>(std::move(acceptor));
  tcp::acceptor* raw = acc.get();
  acceptors_.emplace_back(listener, std::move(acc));
  asio::co_spawn(io_, AcceptLoop(listener, raw), asio::detached);
}

void Worker::Start(std::shared_ptr<const Snapshot> snap, std::shared_ptr<observe::AccessLog> log) {
  snap_ = std::move(snap);
  log_ = std::move(log);
  for (auto& [name, acc] : pending_acceptors_) StartAcceptor(name, std::move(acc));
  pending_acceptors_.clear();
  asio::co_spawn(io_, TickLoop(), asio::detached);
  thread_ = std::thread([this] { RunLoop(); });
}

void Worker::RunLoop() {
  // One io_context::run for the worker's life. Asio keeps the memory it recycles for posted
  // functions in the thread_info of the run (or poll) call that is running: a loop of poll()
  // calls started each with an empty cache and freed it at its end. (Coroutine frames and I/O
  // operations come from operator new: core/pooled_new.h.)
  if (busy_poll_ != std::chrono::microseconds::zero()) {
    net::ReadActivity& a = net::t_read_activity;
    a.wake = &Worker::WakeSpin;
    a.ctx = this;
    spin_.reads = a.reads;
    asio::post(io_, [this] { Spin(); });
  }
  io_.run();
}

void Worker::Spin() {
  // One pass of the scheduler's queue: every ready handler ran, then a non-blocking epoll_wait
  // (Asio polls without blocking while a handler is queued, as this one is).
  using Clock = std::chrono::steady_clock;
  net::ReadActivity& a = net::t_read_activity;
  const auto now = Clock::now();
  if (a.reads != spin_.reads) {  // something came since the last pass
    spin_.reads = a.reads;
    if (spin_.idle_from != Clock::time_point{}) {
      spin_.window.Idled(now - spin_.idle_from);
      spin_.idle_from = {};
    }
  } else if (spin_.idle_from == Clock::time_point{}) {
    spin_.idle_from = now;
  }
  if (spin_.idle_from != Clock::time_point{} && now - spin_.idle_from >= spin_.window.window()) {
    a.watching = true;  // sleep in epoll_wait; the next read posts this again
    return;
  }
  asio::post(io_, [this] { Spin(); });
}

void Worker::WakeSpin(void* self) {
  auto* w = static_cast<Worker*>(self);
  asio::post(w->io_, [w] { w->Spin(); });
}

void Worker::Install(std::shared_ptr<const Snapshot> snap, std::shared_ptr<observe::AccessLog> log,
                     std::vector<std::pair<std::string, tcp::acceptor>> added,
                     std::vector<std::string> removed_listeners) {
  // Move-only captures: wrap in a shared holder so the handler stays copyable.
  struct Update {
    std::shared_ptr<const Snapshot> snap;
    std::shared_ptr<observe::AccessLog> log;
    std::vector<std::pair<std::string, tcp::acceptor>> added;
    std::vector<std::string> removed;
  };
  auto u = std::make_shared<Update>(
      Update{std::move(snap), std::move(log), std::move(added), std::move(removed_listeners)});
  asio::post(io_, [this, u] {
    snap_ = u->snap;
    log_ = u->log;
    // Endpoints the new config no longer has: no new requests go there (no route reaches them),
    // in-flight ones finish on the old config, and pooled idle connections close now.
    std::unordered_set<std::string_view> keys;
    for (const auto& [_, up] : snap_->upstreams) {
      for (const auto& ep : up->endpoints) keys.insert(ep.key);
    }
    const auto kept = [&keys](std::string_view key) { return keys.count(key) != 0; };
    pools_.http1.CloseIdleExcept(kept);
    pools_.http2.RetireExcept(kept);
    for (const auto& name : u->removed) {
      for (auto& [n, acc] : acceptors_) {
        if (n == name && acc->is_open()) {
          boost::system::error_code ec;
          acc->close(ec);
        }
      }
    }
    if (!draining_) {
      for (auto& [name, acc] : u->added) StartAcceptor(name, std::move(acc));
    }
  });
}

void Worker::DrainEndpoint(std::string key) {
  asio::post(io_, [this, key = std::move(key)] {
    pools_.http1.CloseIdle(key);
    pools_.http2.Retire(key);
  });
}

void Worker::CutEndpoint(std::string key, observe::UpstreamStats* stats, const void* owner) {
  asio::post(io_, [this, key = std::move(key), stats, owner] {
    const std::size_t n = pools_.http1.CutInUse(key, owner) + pools_.http2.Cut(key);
    if (n > 0 && stats != nullptr) stats->slot(index_).drain_cuts.Add(n);
  });
}

void Worker::BeginDrain() {
  asio::post(io_, [this] {
    draining_ = true;
    pools_.http2.RetireAll();
    for (auto& [_, acc] : acceptors_) {
      boost::system::error_code ec;
      acc->close(ec);
    }
    for (downstream::Http1Connection* c = connections_; c != nullptr;) {
      downstream::Http1Connection* next = c->next_;
      c->CloseIfIdle();
      c = next;
    }
  });
}

void Worker::Stop() { io_.stop(); }

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

asio::awaitable<void> Worker::AcceptLoop(std::string listener, tcp::acceptor* acc) {
  for (;;) {
    tcp::endpoint peer;
    auto [ec, socket] = co_await acc->async_accept(peer, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acc->is_open()) co_return;
      // Out of descriptors or memory: back off briefly rather than spin.
      asio::steady_timer backoff(io_, std::chrono::milliseconds(20));
      co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    RefreshNow();
    auto c =
        std::make_unique<downstream::Http1Connection>(*this, std::move(socket), peer, listener);
    asio::co_spawn(io_, downstream::Http1Connection::Run(std::move(c)), asio::detached);
  }
}

asio::awaitable<void> Worker::TickLoop() {
  int ticks = 0;
  for (;;) {
    tick_.expires_after(kTick);
    auto [ec] = co_await tick_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    SteadyTime now = RefreshNow();
    for (downstream::Http1Connection* c = connections_; c != nullptr;) {
      downstream::Http1Connection* next = c->next_;
      c->CheckDeadline(now);
      c = next;
    }
    pools_.http2.CheckDeadlines(now);
    background_.CheckDeadlines(now);
    if (++ticks % 10 == 0) pools_.http1.Sweep(now);
  }
}

std::unique_ptr<ExchangeState> Worker::TakeExchangeState() {
  if (free_states_.empty()) return std::make_unique<ExchangeState>(loop_.buffers());
  auto st = std::move(free_states_.back());
  free_states_.pop_back();
  return st;
}

void Worker::GiveExchangeState(std::unique_ptr<ExchangeState> st) {
  // A pooled state holds no parser and no streams, and no buffer memory (every path that gives
  // one back).
  st->parser.reset();
  st->attempts.reset();
  st->connector.reset();
  st->aux.Consume(st->aux.size());
  st->aux.ReleaseIfEmpty();
  st->up_in.Consume(st->up_in.size());
  st->up_in.ReleaseIfEmpty();
  st->body.clear();
  st->body_in.clear();
  st->client_ip.clear();        // else a refused head's log line names the last exchange's client
  st->request_headers.clear();  // views into buffers this exchange's connection owned
  st->response_headers.clear();
  if (free_states_.size() < kMaxFreeRequestStates) free_states_.push_back(std::move(st));
}

void Worker::Register(downstream::Http1Connection* c) noexcept {
  c->next_ = connections_;
  c->prev_ = nullptr;
  if (connections_) connections_->prev_ = c;
  connections_ = c;
}

void Worker::Unregister(downstream::Http1Connection* c) noexcept {
  if (c->prev_)
    c->prev_->next_ = c->next_;
  else
    connections_ = c->next_;
  if (c->next_) c->next_->prev_ = c->prev_;
  c->next_ = c->prev_ = nullptr;
}

}  // namespace rampart::server
