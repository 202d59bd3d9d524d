#include "gates/waf/tx_table.h"

#include <algorithm>
#include <bit>

#include "core/keyed_hash.h"

namespace rampart::waf {

TxTable::TxTable(std::pmr::memory_resource* memory, std::size_t expected)
    : memory_(memory), vars_(memory), index_(memory) {
  vars_.reserve(expected);
  // At most half full: probes stay short.
  index_.assign(std::bit_ceil(std::max<std::size_t>(8, expected * 2)), 0);
}

std::ptrdiff_t TxTable::Position(std::string_view key, std::uint64_t hash) const noexcept {
  const std::size_t mask = index_.size() - 1;
  for (std::size_t i = hash & mask; index_[i] != 0; i = (i + 1) & mask) {
    const std::size_t at = index_[i] - 1;
    const Var& v = vars_[at];
    if (v.hash == hash && v.key == key) return static_cast<std::ptrdiff_t>(at);
  }
  return -1;
}

void TxTable::Index(std::size_t position) {
  const std::size_t mask = index_.size() - 1;
  std::size_t i = vars_[position].hash & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = static_cast<std::uint32_t>(position + 1);
}

std::uint64_t TxTable::Hash(std::string_view key) noexcept { return KeyedHash(key); }

const std::pmr::string* TxTable::Find(std::string_view key, std::uint64_t hash) const noexcept {
  const std::ptrdiff_t at = Position(key, hash);
  if (at < 0 || !vars_[static_cast<std::size_t>(at)].live) return nullptr;
  return &vars_[static_cast<std::size_t>(at)].value;
}

std::pmr::string& TxTable::Slot(std::string_view key, std::uint64_t hash) {
  if (const std::ptrdiff_t at = Position(key, hash); at >= 0) {
    Var& v = vars_[static_cast<std::size_t>(at)];
    if (!v.live) {
      v.live = true;
      v.value.clear();
      ++live_;
    }
    return v.value;
  }
  if ((vars_.size() + 1) * 2 > index_.size()) Grow();
  vars_.emplace_back(hash, key, memory_);
  Index(vars_.size() - 1);
  ++live_;
  return vars_.back().value;
}

bool TxTable::Erase(std::string_view key, std::uint64_t hash) noexcept {
  const std::ptrdiff_t at = Position(key, hash);
  if (at < 0 || !vars_[static_cast<std::size_t>(at)].live) return false;
  Var& v = vars_[static_cast<std::size_t>(at)];
  v.live = false;
  v.value.clear();
  --live_;
  return true;
}

void TxTable::Grow() {
  index_.assign(index_.size() * 2, 0);
  for (std::size_t i = 0; i < vars_.size(); ++i) Index(i);
}

}  // namespace rampart::waf
