#include "state/cell_table.h"

#include <algorithm>
#include <bit>

namespace rampart::state {
namespace {

constexpr std::size_t kShards = std::size_t{1} << CellTable::kShardBits;
constexpr std::size_t kInitialSlots = 16;
constexpr std::size_t kEvictionProbe = 8;

}  // namespace

CellTable::CellTable(std::size_t max_keys, IdleFn idle_at, const void* ctx)
    : max_keys_(std::max<std::size_t>(max_keys, kShards)),
      // Room for the shard's share of keys at a load factor of at most 7/8.
      keys_per_shard_(max_keys_ / kShards),
      max_slots_per_shard_(std::bit_ceil(keys_per_shard_ * 8 / 7 + 1)),
      idle_at_(idle_at),
      ctx_(ctx),
      shards_(new Shard[kShards]) {
  for (std::size_t i = 0; i < kShards; ++i) {
    shards_[i].slots.resize(std::min(kInitialSlots, max_slots_per_shard_));
  }
}

Cell& CellTable::Find(Shard& s, std::uint64_t key, std::int64_t now) {
  std::size_t mask = s.slots.size() - 1;
  for (std::size_t i = key & mask;; i = (i + 1) & mask) {
    if (s.slots[i].key == key) return s.slots[i].cell;
    if (s.slots[i].key == 0) break;
  }
  if ((s.used + 1) * 8 > s.slots.size() * 7 || s.used >= keys_per_shard_) {
    MakeRoom(s, key, now);
    mask = s.slots.size() - 1;
  }
  std::size_t i = key & mask;
  while (s.slots[i].key != 0) i = (i + 1) & mask;
  s.slots[i] = {key, {}};
  ++s.used;
  return s.slots[i].cell;
}

void CellTable::MakeRoom(Shard& s, std::uint64_t key, std::int64_t now) {
  // Drop idle keys (at the cap, once per eighth of the shard's keys inserted, so that eviction
  // stays O(1)); grow when that left the table over half full, as long as the cap allows.
  if (s.used < keys_per_shard_ || ++s.inserts_at_cap >= keys_per_shard_ / 8) {
    s.inserts_at_cap = 0;
    Rehash(s, s.slots.size(), now);
    if (s.used * 2 > s.slots.size() && s.slots.size() < max_slots_per_shard_) {
      Rehash(s, s.slots.size() * 2, now);
    }
  }
  if ((s.used + 1) * 8 <= s.slots.size() * 7 && s.used < keys_per_shard_) return;
  // At the cap: evict the entry that went idle first near the new key's home slot.
  const std::size_t mask = s.slots.size() - 1;
  std::size_t victim = s.slots.size();
  std::int64_t earliest = 0;
  for (std::size_t n = 0, i = key & mask; n < kEvictionProbe; ++n, i = (i + 1) & mask) {
    if (s.slots[i].key == 0) continue;
    const std::int64_t idle = idle_at_(ctx_, s.slots[i].cell);
    if (victim == s.slots.size() || idle < earliest) victim = i, earliest = idle;
  }
  if (victim == s.slots.size()) {  // an empty run: any occupied slot will do
    for (victim = key & mask; s.slots[victim].key == 0;) victim = (victim + 1) & mask;
  }
  Erase(s, victim);
  evictions_.fetch_add(1, std::memory_order_relaxed);
}

void CellTable::Rehash(Shard& s, std::size_t size, std::int64_t now) {
  std::vector<Slot> old(size);
  old.swap(s.slots);
  s.used = 0;
  const std::size_t mask = size - 1;
  for (const Slot& e : old) {
    if (e.key == 0 || idle_at_(ctx_, e.cell) <= now) continue;
    std::size_t i = e.key & mask;
    while (s.slots[i].key != 0) i = (i + 1) & mask;
    s.slots[i] = e;
    ++s.used;
  }
}

// Backward-shift deletion keeps every probe chain intact without tombstones.
void CellTable::Erase(Shard& s, std::size_t i) {
  const std::size_t mask = s.slots.size() - 1;
  std::size_t hole = i;
  for (std::size_t j = (i + 1) & mask; s.slots[j].key != 0; j = (j + 1) & mask) {
    const std::size_t home = s.slots[j].key & mask;
    // Move j into the hole when its home is not in (hole, j] (cyclically).
    const bool home_between = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (!home_between) {
      s.slots[hole] = s.slots[j];
      hole = j;
    }
  }
  s.slots[hole] = {};
  --s.used;
}

std::optional<Cell> CellTable::Peek(std::uint64_t key) const {
  if (key == 0) key = 1;
  const Shard& s = shards_[key >> (64 - kShardBits)];
  std::lock_guard lock(s.mu);
  const std::size_t mask = s.slots.size() - 1;
  for (std::size_t i = key & mask; s.slots[i].key != 0; i = (i + 1) & mask) {
    if (s.slots[i].key == key) return s.slots[i].cell;
  }
  return std::nullopt;
}

std::size_t CellTable::keys() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].used;
  }
  return n;
}

std::size_t CellTable::bytes() const noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < kShards; ++i) {
    std::lock_guard lock(shards_[i].mu);
    n += shards_[i].slots.capacity() * sizeof(Slot);
  }
  return n;
}

}  // namespace rampart::state
