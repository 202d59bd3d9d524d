// Exchanges rampart sends on its own, on a worker's loop: a copy of a client's exchange that a
// gate asked for after answering from a store (a cache's stale-while-revalidate refresh). The
// copy runs through the one forwarding path from that gate on (forward.cc), towards the same
// route's upstream with its policies; its answer goes to the gates (the cache stores it), never
// to a client. Bounded per worker; each copy is logged and counted like any other exchange.
#pragma once

#include <cstddef>
#include <memory>

#include "core/clock.h"
#include "pipeline/forward.h"

namespace rampart::server {

class Worker;

class BackgroundExchanges final : public BackgroundSpawner {
 public:
  static constexpr std::size_t kMaxPerWorker = 256;

  explicit BackgroundExchanges(Worker& worker);
  BackgroundExchanges(const BackgroundExchanges&) = delete;
  BackgroundExchanges& operator=(const BackgroundExchanges&) = delete;

  // Worker thread.
  bool Spawn(const Exchange& ex, const Site& site, std::string_view client_ip) noexcept override;
  // The worker's tick: a copy whose deadline passed has its upstream wait cancelled.
  void CheckDeadlines(SteadyTime now) noexcept;

  class Copy;

 private:
  // The copies running (intrusive), shared with them: a copy destroyed with the worker's loop,
  // after this object, still unlinks itself safely.
  struct List {
    Copy* first = nullptr;
    std::size_t running = 0;
  };
  Worker& worker_;
  std::shared_ptr<List> list_;
};

}  // namespace rampart::server
