#include "gates/rate_limit/local_limit.h"

namespace rampart::rate_limit {
namespace {

std::int64_t CellIdleAt(const void* ctx, const state::Cell& c) {
  return IdleAt(*static_cast<const Policy*>(ctx), c);
}

}  // namespace

LocalLimit::LocalLimit(const Policy& policy, std::size_t max_keys)
    : policy_(policy), max_keys_(max_keys) {
  if (policy_.algorithm == Algorithm::kSlidingWindowLog) {
    logs_.reset(new LogShard[kLogShards]);
  } else {
    cells_ = std::make_unique<state::CellTable>(max_keys, CellIdleAt, &policy_);
  }
}

Outcome LocalLimit::Acquire(std::uint64_t key, std::int64_t now, std::int64_t offset) {
  if (cells_) {
    return cells_->Update(key, now,
                          [&](Cell& c) { return rate_limit::Acquire(policy_, c, now, 1, offset); });
  }
  LogShard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  const std::size_t cap = max_keys_ / kLogShards + 1;
  if (s.logs.size() >= cap && !s.logs.contains(key)) {
    // Forget idle logs, at most once per eighth of the shard's keys; evict if still full.
    if (++s.inserts_since_sweep >= cap / 8 + 1) {
      s.inserts_since_sweep = 0;
      std::erase_if(s.logs, [&](const auto& kv) { return kv.second.IdleAt(policy_) <= now; });
    }
    if (s.logs.size() >= cap) {
      s.logs.erase(s.logs.begin());
      log_evictions_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return s.logs[key].Acquire(policy_, now);
}

void LocalLimit::Refund(std::uint64_t key, std::int64_t now, std::int64_t offset) {
  if (cells_) {
    cells_->Update(key, now, [&](Cell& c) { rate_limit::Refund(policy_, c, now, 1, offset); });
    return;
  }
  LogShard& s = ShardOf(key);
  std::lock_guard lock(s.mu);
  if (auto it = s.logs.find(key); it != s.logs.end()) it->second.Refund();
}

std::size_t LocalLimit::keys() const {
  if (cells_) return cells_->keys();
  std::size_t n = 0;
  for (std::size_t i = 0; i < kLogShards; ++i) {
    std::lock_guard lock(logs_[i].mu);
    n += logs_[i].logs.size();
  }
  return n;
}

std::size_t LocalLimit::bytes() const {
  if (cells_) return cells_->bytes();
  std::size_t n = 0;
  for (std::size_t i = 0; i < kLogShards; ++i) {
    std::lock_guard lock(logs_[i].mu);
    for (const auto& [_, log] : logs_[i].logs) n += log.bytes() + 48;  // + node overhead
  }
  return n;
}

std::uint64_t LocalLimit::evictions() const {
  return cells_ ? cells_->evictions() : log_evictions_.load(std::memory_order_relaxed);
}

}  // namespace rampart::rate_limit
