// One limit's in-process state: a CellTable for the cell algorithms, or sharded logs for the
// sliding window log. Shared by all workers, exact across them; kept across reloads as long as
// the limit's name, algorithm and numbers stay the same.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "gates/rate_limit/algorithm.h"
#include "gates/rate_limit/sliding_log.h"
#include "state/cell_table.h"

namespace rampart::rate_limit {

class LocalLimit {
 public:
  LocalLimit(const Policy& policy, std::size_t max_keys);

  Outcome Acquire(std::uint64_t key, std::int64_t now_us, std::int64_t window_offset_us);
  void Refund(std::uint64_t key, std::int64_t now_us, std::int64_t window_offset_us);

  std::size_t keys() const;
  std::size_t bytes() const;
  std::uint64_t evictions() const;

 private:
  struct alignas(64) LogShard {
    mutable std::mutex mu;
    std::unordered_map<std::uint64_t, SlidingLog> logs;
    std::size_t inserts_since_sweep = 0;
  };
  static constexpr std::size_t kLogShards = 64;
  LogShard& ShardOf(std::uint64_t key) { return logs_[key >> 58]; }

  Policy policy_;
  std::size_t max_keys_;
  std::unique_ptr<state::CellTable> cells_;  // all algorithms but the log
  std::unique_ptr<LogShard[]> logs_;         // the log
  std::atomic<std::uint64_t> log_evictions_{0};
};

}  // namespace rampart::rate_limit
