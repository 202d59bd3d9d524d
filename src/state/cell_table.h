// The in-process store: a map from 64-bit key hashes to 16-byte cells, sharded so that workers
// meet only when they touch the same shard (64 shards, one mutex each, no global lock), exact
// across workers. Open addressing with linear probing: 24 bytes per slot, no allocation per key.
//
// Keys are forgotten when their cell goes idle (the owner says when through IdleFn); memory is
// reclaimed when a shard needs room. A shard at the key cap evicts the entry that went idle
// earliest among the 8 slots after the new key's home slot, and counts it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "state/cell.h"

namespace rampart::state {

class CellTable {
 public:
  // When `cell` becomes equivalent to a zero cell (so it may be dropped); `ctx` is the owner's.
  using IdleFn = std::int64_t (*)(const void* ctx, const Cell& cell);

  CellTable(std::size_t max_keys, IdleFn idle_at, const void* ctx);

  // Runs fn(cell) under the shard's lock; an absent key gets a zero cell first. `now` is the
  // caller's clock in the IdleFn's unit.
  template <typename Fn>
  auto Update(std::uint64_t key, std::int64_t now, Fn&& fn) {
    Shard& s = shards_[key >> (64 - kShardBits)];
    std::lock_guard lock(s.mu);
    return fn(Find(s, key == 0 ? 1 : key, now));
  }

  // The cell of `key` if present; does not insert.
  std::optional<Cell> Peek(std::uint64_t key) const;

  std::size_t keys() const noexcept;   // approximate while workers write
  std::size_t bytes() const noexcept;  // slot memory, all shards
  std::uint64_t evictions() const noexcept { return evictions_.load(std::memory_order_relaxed); }
  std::size_t max_keys() const noexcept { return max_keys_; }

  static constexpr int kShardBits = 6;

 private:
  struct Slot {
    std::uint64_t key = 0;  // 0 = empty
    Cell cell;
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;
    std::size_t used = 0;
    std::size_t inserts_at_cap = 0;
  };

  Cell& Find(Shard& s, std::uint64_t key, std::int64_t now);
  void MakeRoom(Shard& s, std::uint64_t key, std::int64_t now);
  void Rehash(Shard& s, std::size_t size, std::int64_t now);
  void Erase(Shard& s, std::size_t i);

  std::size_t max_keys_;
  std::size_t keys_per_shard_;
  std::size_t max_slots_per_shard_;
  IdleFn idle_at_;
  const void* ctx_;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<std::uint64_t> evictions_{0};
};

}  // namespace rampart::state
