#include "state/redis/redis_pool.h"

#include <fmt/format.h>

namespace rampart::state::redis {

Pool::Pool(Options options, int workers)
    : options_(std::move(options)), clients_(static_cast<std::size_t>(workers)) {}

Pool::~Pool() = default;

Client& Pool::For(int worker, const boost::asio::any_io_executor& ex) {
  auto& slot = clients_[static_cast<std::size_t>(worker)];
  if (!slot) {
    auto c = std::make_shared<Client>(
        ex, options_, fmt::format("{}:{} worker {}", options_.host, options_.port, worker));
    {
      std::lock_guard lock(mu_);
      slot = c;
    }
    c->Start();
  }
  return *slot;
}

void Pool::RenderMetrics(std::string& out) const {
  std::lock_guard lock(mu_);
  std::uint64_t commands = 0, timeouts = 0, errors = 0, connects = 0, up = 0;
  for (const auto& c : clients_) {
    if (!c) continue;
    const auto& s = c->stats();
    commands += s.commands.load(std::memory_order_relaxed);
    timeouts += s.timeouts.load(std::memory_order_relaxed);
    errors += s.connection_errors.load(std::memory_order_relaxed);
    connects += s.connects.load(std::memory_order_relaxed);
    up += s.up.load(std::memory_order_relaxed) ? 1 : 0;
  }
  const std::string label = fmt::format("redis=\"{}:{}\"", options_.host, options_.port);
  out += "# TYPE rampart_redis_commands_total counter\n";
  out += fmt::format("rampart_redis_commands_total{{{}}} {}\n", label, commands);
  out += "# TYPE rampart_redis_timeouts_total counter\n";
  out += fmt::format("rampart_redis_timeouts_total{{{}}} {}\n", label, timeouts);
  out += "# TYPE rampart_redis_connection_errors_total counter\n";
  out += fmt::format("rampart_redis_connection_errors_total{{{}}} {}\n", label, errors);
  out += "# TYPE rampart_redis_connects_total counter\n";
  out += fmt::format("rampart_redis_connects_total{{{}}} {}\n", label, connects);
  out += "# TYPE rampart_redis_connections_up gauge\n";
  out += fmt::format("rampart_redis_connections_up{{{}}} {}\n", label, up);
}

}  // namespace rampart::state::redis
