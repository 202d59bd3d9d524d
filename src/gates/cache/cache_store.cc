// W-TinyLFU per shard. Layout choices (the header states the policy):
// - One node per primary key, holding all its variants (at most kMaxVariants): the sketch counts
//   keys, not variants, so the node is the unit of admission and eviction, and its charge is the
//   sum of its variants' charges. A variant added to a key already in the main area makes that
//   node bigger in place; the shard then evicts as it would after any insert.
// - The window keeps its newest node even when that node alone is over the window's 1% (the
//   "at least one entry's worth"); the main area gets the rest of the shard's bytes, so the
//   shard's total never exceeds its share of max_bytes.
// - Put always places a new key in the window (TinyLFU filters what leaves the window, later),
//   so it returns false only for a null entry or an entry over max_bytes / 8 or over the
//   shard's share (which could never be held), or in the corner case where the key's node grew
//   past the shard's bytes and was evicted at once.
// - Touch (a hit, or a Put on a cached key) moves the node to its segment's MRU end; a probation
//   node moves to protected. ErasePrefix/EraseTag keep surviving nodes where they are.
// - Counters (bytes, entries, evictions, refusals) are per shard, written under the shard's lock
//   and published with relaxed atomics once per operation, so an unlocked reader summing them
//   sees each shard within its bound. `entries` and the event counters count variants.
#include "gates/cache/cache_store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cstring>
#include <mutex>
#include <random>
#include <unordered_map>

#include "core/hash.h"
#include "core/keyed_hash.h"
#include "core/strings.h"

namespace rampart::cache {

namespace {

constexpr std::size_t kAssumedEntryBytes = 4096;  // sizes the sketch from a shard's bytes
constexpr std::size_t kMinSketchWidth = 1024;     // counters per row
constexpr std::size_t kSampleFactor = 10;         // halve after 10 x expected entries increments
constexpr std::size_t kMaxVariants = 16;  // a Vary on a wild header cannot grow a key forever

// Count-min sketch of 4-bit counters, 16 to a word, in 64-byte blocks: a key's four counters all
// lie in one block (one cache line to touch instead of four), each in its own pair of words, as
// in Caffeine's blocked FrequencySketch. Counters saturate at 15; every `sample_size` increments
// all are halved (TinyLFU's reset), so old popularity fades.
class FrequencySketch {
 public:
  explicit FrequencySketch(std::size_t expected_entries)
      : blocks_(std::bit_ceil(std::max(kMinSketchWidth, expected_entries)) * kRows / 16 /
                kWordsPerBlock),
        sample_size_(kSampleFactor * std::max<std::size_t>(1, expected_entries)),
        table_(blocks_) {}

  void Increment(std::uint64_t hash) noexcept {
    Block& b = table_[hash & (blocks_ - 1)];
    const std::uint64_t h2 = Fmix64(hash ^ 0x5851F42D4C957F2Dull);
    for (std::size_t r = 0; r < kRows; ++r) {
      std::uint64_t& word = b.words[Word(r, h2)];
      const unsigned shift = Shift(r, h2);
      if (((word >> shift) & 0xF) != 0xF) word += std::uint64_t{1} << shift;
    }
    if (++additions_ >= sample_size_) Reset();
  }

  unsigned Frequency(std::uint64_t hash) const noexcept {
    const Block& b = table_[hash & (blocks_ - 1)];
    const std::uint64_t h2 = Fmix64(hash ^ 0x5851F42D4C957F2Dull);
    unsigned f = 0xF;
    for (std::size_t r = 0; r < kRows; ++r) {
      f = std::min(f, static_cast<unsigned>((b.words[Word(r, h2)] >> Shift(r, h2)) & 0xF));
    }
    return f;
  }

 private:
  static constexpr std::size_t kRows = 4;
  static constexpr std::size_t kWordsPerBlock = 8;
  struct alignas(64) Block {
    std::array<std::uint64_t, kWordsPerBlock> words{};
  };

  // Row r's counter: in word 2r or 2r + 1 of the block (bit r of h2), at one of its 16 places
  // (4 bits of h2 per row).
  static std::size_t Word(std::size_t r, std::uint64_t h2) noexcept {
    return 2 * r + ((h2 >> r) & 1);
  }
  static unsigned Shift(std::size_t r, std::uint64_t h2) noexcept {
    return static_cast<unsigned>((h2 >> (8 + 4 * r)) & 0xF) * 4;
  }

  void Reset() noexcept {
    for (Block& b : table_) {
      for (std::uint64_t& w : b.words) w = (w >> 1) & 0x7777777777777777ull;
    }
    additions_ /= 2;
  }

  std::size_t blocks_;
  std::size_t sample_size_;
  std::size_t additions_ = 0;
  std::vector<Block> table_;
};

// The map's key carries its hash, computed once per call, so the map does not hash again.
struct StoredKey {
  std::string text;
  std::uint64_t hash;
};
struct KeyRef {
  std::string_view text;
  std::uint64_t hash;
};
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const StoredKey& k) const noexcept { return k.hash; }
  std::size_t operator()(const KeyRef& k) const noexcept { return k.hash; }
};
struct KeyEqual {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return a.hash == b.hash && std::string_view(a.text) == std::string_view(b.text);
  }
};

enum class Region : std::uint8_t { kWindow, kProbation, kProtected };

struct Variant {
  std::shared_ptr<const CachedResponse> response;
  std::size_t charge;
};

struct Node {
  std::string_view key;  // the map's key: stable while the node is in the map
  std::uint64_t hash = 0;
  std::size_t charge = 0;  // sum of the variants' charges
  Region region = Region::kWindow;
  Node* prev = nullptr;  // toward MRU
  Node* next = nullptr;  // toward LRU
  std::vector<Variant> variants;
};

// Intrusive LRU list: head is most recently used, tail is the eviction end.
struct LruList {
  Node* head = nullptr;
  Node* tail = nullptr;
  std::size_t bytes = 0;
  std::size_t nodes = 0;

  void PushFront(Node* n) noexcept {
    n->prev = nullptr;
    n->next = head;
    if (head != nullptr) head->prev = n;
    head = n;
    if (tail == nullptr) tail = n;
    bytes += n->charge;
    ++nodes;
  }
  void Remove(Node* n) noexcept {
    (n->prev != nullptr ? n->prev->next : head) = n->next;
    (n->next != nullptr ? n->next->prev : tail) = n->prev;
    n->prev = n->next = nullptr;
    bytes -= n->charge;
    --nodes;
  }
};

bool SameVariant(const CachedResponse& a, const CachedResponse& b) noexcept {
  return a.vary_names == b.vary_names && a.vary_values == b.vary_values;
}

}  // namespace

struct CacheStore::Shard {
  explicit Shard(std::size_t capacity_bytes)
      : capacity(capacity_bytes),
        window_capacity(capacity_bytes / 100),
        protected_capacity((capacity_bytes - capacity_bytes / 100) / 5 * 4),
        sketch(capacity_bytes / kAssumedEntryBytes) {}

  // Limits, fixed at construction.
  const std::size_t capacity;
  const std::size_t window_capacity;
  const std::size_t protected_capacity;

  std::mutex mu;
  FrequencySketch sketch;
  std::unordered_map<StoredKey, Node, KeyHash, KeyEqual> map;
  LruList window, probation, protected_lru;
  std::size_t entry_count = 0;  // variants
  std::uint64_t eviction_count = 0;
  std::uint64_t refusal_count = 0;

  // Published copies for unlocked readers (Publish() at the end of each locked operation).
  std::atomic<std::size_t> bytes_out{0};
  std::atomic<std::size_t> entries_out{0};
  std::atomic<std::uint64_t> evictions_out{0};
  std::atomic<std::uint64_t> refusals_out{0};

  LruList& ListOf(Region r) noexcept {
    switch (r) {
      case Region::kWindow:
        return window;
      case Region::kProbation:
        return probation;
      case Region::kProtected:
        break;
    }
    return protected_lru;
  }
  std::size_t Bytes() const noexcept {
    return window.bytes + probation.bytes + protected_lru.bytes;
  }
  std::size_t MainBytes() const noexcept { return probation.bytes + protected_lru.bytes; }

  Node* Find(std::string_view key, std::uint64_t hash) noexcept {
    const auto it = map.find(KeyRef{key, hash});
    return it == map.end() ? nullptr : &it->second;
  }

  // Unlinks and destroys `n`; returns how many variants went.
  std::size_t Drop(Node* n) noexcept {
    ListOf(n->region).Remove(n);
    const std::size_t variants = n->variants.size();
    entry_count -= variants;
    map.erase(map.find(KeyRef{n->key, n->hash}));
    return variants;
  }

  // A hit (or an update): recency in its segment; a probation hit earns the protected segment.
  void Touch(Node* n) noexcept {
    ListOf(n->region).Remove(n);
    if (n->region == Region::kProbation) n->region = Region::kProtected;
    ListOf(n->region).PushFront(n);
    DemoteProtectedOverflow();
  }

  void DemoteProtectedOverflow() noexcept {
    while (protected_lru.bytes > protected_capacity && protected_lru.nodes > 1) {
      Node* n = protected_lru.tail;
      protected_lru.Remove(n);
      n->region = Region::kProbation;
      probation.PushFront(n);
    }
  }

  // The main area's eviction victim: probation's LRU end, else protected's.
  Node* MainVictim() noexcept {
    return probation.tail != nullptr ? probation.tail : protected_lru.tail;
  }

  // A refused candidate that the sketch rates above protected's LRU end sends that node back to
  // probation (not out of the cache: a hit there promotes it again). Without this, keys hot long
  // ago could keep the protected segment forever: only a probation hit promotes, only a
  // promotion pushes anything out of protected, and a new hot set that cycles through probation
  // faster than it is asked again never gets a probation hit.
  void DemoteIfStale(unsigned candidate_freq) noexcept {
    Node* p = protected_lru.tail;
    if (p == nullptr || sketch.Frequency(p->hash) >= candidate_freq) return;
    protected_lru.Remove(p);
    p->region = Region::kProbation;
    probation.PushFront(p);
  }

  // The window's LRU node, still linked there: into probation if the main area has room, else
  // only while the sketch rates it above each victim it would displace.
  void AdmitWindowTail() noexcept {
    Node* candidate = window.tail;
    // The main area gets the bytes the window's share leaves, less when the window holds more
    // than its share (one oversized newest node), so the shard's total stays in bounds without
    // unfiltered evictions.
    const std::size_t window_after = std::max(window_capacity, window.bytes - candidate->charge);
    const std::size_t main_limit = capacity - std::min(capacity, window_after);
    if (candidate->charge > main_limit) {
      eviction_count += Drop(candidate);
      return;
    }
    const unsigned candidate_freq = sketch.Frequency(candidate->hash);
    while (MainBytes() + candidate->charge > main_limit) {
      Node* victim = MainVictim();
      if (candidate_freq <= sketch.Frequency(victim->hash)) {
        DemoteIfStale(candidate_freq);
        const std::size_t refused = Drop(candidate);
        refusal_count += refused;
        eviction_count += refused;
        return;
      }
      eviction_count += Drop(victim);
    }
    window.Remove(candidate);
    candidate->region = Region::kProbation;
    probation.PushFront(candidate);
    DemoteProtectedOverflow();
  }

  // Restores every bound after an insert or a node's growth.
  void Rebalance() noexcept {
    while (window.bytes > window_capacity && window.nodes > 1) AdmitWindowTail();
    DemoteProtectedOverflow();
    // A node that grew in the main area, or a window node alone over the main area's room.
    while (Bytes() > capacity) {
      Node* victim = MainVictim();
      if (victim == nullptr) victim = window.tail;
      eviction_count += Drop(victim);
    }
  }

  void Publish() noexcept {
    bytes_out.store(Bytes(), std::memory_order_relaxed);
    entries_out.store(entry_count, std::memory_order_relaxed);
    evictions_out.store(eviction_count, std::memory_order_relaxed);
    refusals_out.store(refusal_count, std::memory_order_relaxed);
  }
};

CacheStore::CacheStore(std::size_t max_bytes, std::size_t shards) : max_bytes_(max_bytes) {
  // Not a power of two: the next one up, so the shard index is a mask of the hash's top bits.
  const std::size_t n = std::bit_ceil(std::max<std::size_t>(1, shards));
  shards_.reserve(n);
  for (std::size_t i = 0; i < n; ++i) shards_.push_back(std::make_unique<Shard>(max_bytes / n));
}

CacheStore::~CacheStore() = default;

CacheStore::Shard& CacheStore::ShardFor(std::uint64_t hash) noexcept {
  // Top bits pick the shard; the sketch and the map use the whole hash.
  const int shift = 64 - std::countr_zero(shards_.size());
  return *shards_[shift >= 64 ? 0 : static_cast<std::size_t>(hash >> shift)];
}

std::shared_ptr<const CachedResponse> CacheStore::Get(
    std::string_view key, const std::function<bool(const CachedResponse&)>& match) {
  return Get(key, KeyedHash(key), match);
}

std::shared_ptr<const CachedResponse> CacheStore::Get(
    std::string_view key, std::uint64_t hash,
    const std::function<bool(const CachedResponse&)>& match) {
  Shard& s = ShardFor(hash);
  std::lock_guard lock(s.mu);
  s.sketch.Increment(hash);
  Node* n = s.Find(key, hash);
  if (n == nullptr) return nullptr;
  // Newest first: the most recent answer for these request fields (RFC 9111 section 4.1).
  for (auto it = n->variants.rbegin(); it != n->variants.rend(); ++it) {
    const Variant& v = *it;
    if (match(*v.response)) {
      s.Touch(n);
      return v.response;
    }
  }
  return nullptr;
}

bool CacheStore::Put(std::string_view key, std::shared_ptr<const CachedResponse> entry) {
  if (entry == nullptr) return false;
  const std::size_t charge = entry->Charge(key.size());
  const std::uint64_t hash = KeyedHash(key);
  Shard& s = ShardFor(hash);
  // An entry over the shard's share could never be held within the bound either.
  if (charge > max_bytes_ / 8 || charge > s.capacity) return false;
  std::lock_guard lock(s.mu);
  s.sketch.Increment(hash);
  Node* n = s.Find(key, hash);
  if (n == nullptr) {
    auto [it, inserted] = s.map.try_emplace(StoredKey{std::string(key), hash});
    n = &it->second;
    n->key = it->first.text;
    n->hash = hash;
    n->region = Region::kWindow;
    n->variants.push_back(Variant{std::move(entry), charge});
    n->charge = charge;
    ++s.entry_count;
    s.window.PushFront(n);
  } else {
    // Re-charge in place, then count the update as a hit.
    LruList& list = s.ListOf(n->region);
    list.bytes -= n->charge;
    auto same = std::find_if(n->variants.begin(), n->variants.end(),
                             [&](const Variant& v) { return SameVariant(*v.response, *entry); });
    if (same != n->variants.end()) {
      n->charge -= same->charge;
      *same = Variant{std::move(entry), charge};
    } else {
      if (n->variants.size() >= kMaxVariants) {  // the oldest variant makes room
        n->charge -= n->variants.front().charge;
        n->variants.erase(n->variants.begin());
        --s.entry_count;
        ++s.eviction_count;
      }
      n->variants.push_back(Variant{std::move(entry), charge});
      ++s.entry_count;
    }
    n->charge += charge;
    list.bytes += n->charge;
    s.Touch(n);
  }
  s.Rebalance();
  const bool stored = s.Find(key, hash) != nullptr;
  s.Publish();
  return stored;
}

std::size_t CacheStore::Erase(std::string_view key) {
  const std::uint64_t hash = KeyedHash(key);
  Shard& s = ShardFor(hash);
  std::lock_guard lock(s.mu);
  Node* n = s.Find(key, hash);
  const std::size_t erased = n == nullptr ? 0 : s.Drop(n);
  s.Publish();
  return erased;
}

std::size_t CacheStore::ErasePrefix(std::string_view prefix) {
  std::size_t erased = 0;
  for (const auto& shard : shards_) {
    Shard& s = *shard;
    std::lock_guard lock(s.mu);
    std::vector<Node*> doomed;
    for (auto& [k, n] : s.map) {
      if (k.text.starts_with(prefix)) doomed.push_back(&n);
    }
    for (Node* n : doomed) erased += s.Drop(n);
    s.Publish();
  }
  return erased;
}

std::size_t CacheStore::EraseTag(std::string_view tag) {
  std::size_t erased = 0;
  for (const auto& shard : shards_) {
    Shard& s = *shard;
    std::lock_guard lock(s.mu);
    std::vector<Node*> emptied;
    for (auto& [k, n] : s.map) {
      std::size_t removed_bytes = 0;
      const auto kept = std::remove_if(n.variants.begin(), n.variants.end(), [&](const Variant& v) {
        const std::vector<std::string>& tags = v.response->tags;
        if (std::find(tags.begin(), tags.end(), tag) == tags.end()) return false;
        removed_bytes += v.charge;
        return true;
      });
      const auto gone = static_cast<std::size_t>(n.variants.end() - kept);
      if (gone == 0) continue;
      n.variants.erase(kept, n.variants.end());
      n.charge -= removed_bytes;  // in place: the node keeps its recency
      s.ListOf(n.region).bytes -= removed_bytes;
      s.entry_count -= gone;
      erased += gone;
      if (n.variants.empty()) emptied.push_back(&n);
    }
    for (Node* n : emptied) s.Drop(n);
    s.Publish();
  }
  return erased;
}

template <typename T>
T CacheStore::Sum(std::atomic<T> Shard::*published) const noexcept {
  T n = 0;
  for (const auto& s : shards_) n += ((*s).*published).load(std::memory_order_relaxed);
  return n;
}

std::size_t CacheStore::bytes() const noexcept { return Sum(&Shard::bytes_out); }
std::size_t CacheStore::entries() const noexcept { return Sum(&Shard::entries_out); }
std::uint64_t CacheStore::evictions() const noexcept { return Sum(&Shard::evictions_out); }
std::uint64_t CacheStore::admissions_refused() const noexcept { return Sum(&Shard::refusals_out); }

}  // namespace rampart::cache
