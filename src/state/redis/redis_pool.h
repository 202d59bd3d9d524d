// The Redis clients of one `state.redis` configuration: one pipelined connection per worker,
// created on the worker's first use and kept for the life of the process.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "state/redis/redis_client.h"
#include "state/redis/redis_options.h"

namespace rampart::state::redis {

class Pool {
 public:
  Pool(Options options, int workers);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // The worker's client; created and started on `ex` (the worker's executor) on first use.
  // Only the worker `worker` may call it.
  Client& For(int worker, const boost::asio::any_io_executor& ex);
  const Options& options() const noexcept { return options_; }

  // rampart_redis_* series for /metrics (admin thread).
  void RenderMetrics(std::string& out) const;

 private:
  Options options_;
  mutable std::mutex mu_;  // guards creation in clients_ against the admin thread's reads
  std::vector<std::shared_ptr<Client>> clients_;
};

}  // namespace rampart::state::redis
