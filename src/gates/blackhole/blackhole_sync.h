// Sharing blackholes between instances through Redis (`blackhole.shared`). Every half second, on
// the control thread, the sync publishes what this instance decided (holes it made, holes an
// operator added or lifted) into one sorted set, member the address and score the wall-clock
// millisecond the hole ends, then drops ended members and reads the rest back into the local
// table (Blackhole::MergeShared). So a hole made on one instance is enforced by the others within
// one second (half a second to publish, half to read), and a lift spreads the same way. While
// Redis is away each instance keeps its own holes and publishes them when it returns; the
// accept path never waits on Redis.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "gates/blackhole/blackhole.h"
#include "state/redis/redis_options.h"

namespace rampart::state::redis {
class Client;
}

namespace rampart::gates {

class BlackholeSync {
 public:
  static constexpr std::string_view kKey = "rampart:blackhole";

  BlackholeSync(boost::asio::any_io_executor control, Blackhole& table);
  ~BlackholeSync();

  // Control thread: share through this Redis, or stop sharing (nullopt). The same options again
  // change nothing.
  void Configure(const std::optional<state::redis::Options>& options);

  std::uint64_t syncs_ok() const noexcept { return ok_.load(std::memory_order_relaxed); }
  std::uint64_t syncs_failed() const noexcept { return failed_.load(std::memory_order_relaxed); }
  bool sharing() const noexcept { return client_ != nullptr; }

 private:
  boost::asio::awaitable<void> Loop(std::shared_ptr<state::redis::Client> client,
                                    std::uint64_t generation);
  // One round: publish, prune, read back. False when Redis failed a command.
  boost::asio::awaitable<bool> Round(state::redis::Client& client);

  boost::asio::any_io_executor control_;
  Blackhole& table_;
  std::shared_ptr<state::redis::Client> client_;
  std::string identity_;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> ok_{0}, failed_{0};
};

}  // namespace rampart::gates
