#include "gates/waf/operator_phrase_set.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstdint>
#include <mutex>
#include <new>
#include <unordered_set>

namespace rampart::waf::op_internal {
namespace {

// hs_scan needs scratch space large enough for the database it scans, used by one thread at a
// time. Every shared database grows one prototype scratch (under a lock) and bumps a generation;
// a thread whose own scratch is older clones the prototype once, so a scan allocates nothing.
// A thread-only database grows that thread's scratch directly.

struct ScratchRegistry {
  std::mutex mu;
  hs_scratch_t* prototype = nullptr;
  std::atomic<std::uint64_t> generation{0};
};

ScratchRegistry& Registry() {
  // Never destroyed: worker threads may still scan while static destructors run at exit.
  static auto* registry = new ScratchRegistry;
  return *registry;
}

bool RegisterSharedDatabase(const hs_database_t* db) {
  ScratchRegistry& r = Registry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (hs_alloc_scratch(db, &r.prototype) != HS_SUCCESS) return false;
  r.generation.fetch_add(1, std::memory_order_release);
  return true;
}

struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  std::uint64_t generation = 0;
  ~ThreadScratch() { hs_free_scratch(scratch); }
};
thread_local ThreadScratch tls_scratch;

// This thread's scratch, fit for every shared database so far (null if none could be made).
hs_scratch_t* SharedScratch() noexcept {
  ScratchRegistry& r = Registry();
  if (tls_scratch.scratch != nullptr &&
      tls_scratch.generation == r.generation.load(std::memory_order_acquire)) {
    return tls_scratch.scratch;
  }
  std::lock_guard<std::mutex> lock(r.mu);
  if (r.prototype != nullptr) {
    hs_scratch_t* fresh = nullptr;
    if (hs_clone_scratch(r.prototype, &fresh) != HS_SUCCESS) return nullptr;
    hs_free_scratch(tls_scratch.scratch);
    tls_scratch.scratch = fresh;
    tls_scratch.generation = r.generation.load(std::memory_order_relaxed);
  }
  return tls_scratch.scratch;
}

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Debian 12's Vectorscan 5.4.9 misses some matches that end in the last 64 bytes of a scanned
// buffer on CPUs with AVX-512 (its AVX-512 accelerators mishandle a buffer's tail, as
// VectorCamp/vectorscan#378 describes; fixed upstream in 2026): "$_post" at the end of 64 bytes
// of "x" is not found among CRS's php-variables.data, and whether a match is missed depends on
// the buffer's address. So every value is scanned with this many bytes of padding after it,
// which hold no match; the bug can then only touch the padding.
constexpr std::size_t kScanPadding = 64;

// The buffer a value is copied to with its padding, one per thread. It keeps room for values up
// to kKeptPadded bytes; a larger one (a whole body) is given back after its scan.
thread_local std::string tls_padded;
constexpr std::size_t kKeptPadded = 64 << 10;

}  // namespace

struct PhraseSet::Search {
  const PhraseSet* set;
  bool want_phrase;
  unsigned long long length;  // of the value, without its padding
  int best = -1;
  unsigned long long best_end = 0;

  static int OnMatch(unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* context) {
    auto* s = static_cast<Search*>(context);
    // A match reaching into the padding is not in the value (only possible when every byte is
    // in some phrase, so no padding byte could be kept out of them).
    if (to > s->length) return 0;
    const int index = static_cast<int>(id);
    if (!s->want_phrase) {
      s->best = index;
      return 1;  // any phrase decides the match: stop scanning
    }
    // Vectorscan does not promise to report in end order, so the whole value is scanned and
    // the best kept; with HS_FLAG_SINGLEMATCH each phrase is reported once, where it first ends.
    if (s->best < 0 || to < s->best_end ||
        (to == s->best_end && s->set->phrase(index).size() > s->set->phrase(s->best).size())) {
      s->best = index;
      s->best_end = to;
    }
    return 0;
  }
};

std::unique_ptr<PhraseSet> PhraseSet::Build(const std::vector<std::string_view>& phrases,
                                            bool shared, std::string* error) {
  auto set = std::unique_ptr<PhraseSet>(new PhraseSet);
  set->shared_ = shared;
  std::unordered_set<std::string> seen;
  for (std::string_view p : phrases) {
    if (p.empty()) continue;
    std::string folded(p);
    std::transform(folded.begin(), folded.end(), folded.begin(), LowerAscii);
    if (seen.insert(std::move(folded)).second) set->phrases_.emplace_back(p);
  }
  if (set->phrases_.empty()) return set;
  // The padding byte: one that is in no phrase, in either case (Vectorscan compares caselessly).
  bool used[256] = {};
  for (const auto& p : set->phrases_) {
    for (char c : p) used[static_cast<unsigned char>(LowerAscii(c))] = true;
  }
  for (int b = 255; b >= 0; --b) {
    const char c = static_cast<char>(b);
    if (!used[b] && !used[static_cast<unsigned char>(LowerAscii(c))]) {
      set->pad_ = c;
      break;
    }
  }
  std::vector<const char*> exprs;
  std::vector<std::size_t> lens;
  std::vector<unsigned> ids;
  // Literals, so a phrase may hold any byte (NUL included, from @pm's |00|).
  const std::vector<unsigned> flags(set->phrases_.size(), HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH);
  for (std::size_t i = 0; i < set->phrases_.size(); ++i) {
    exprs.push_back(set->phrases_[i].data());
    lens.push_back(set->phrases_[i].size());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_compile_error_t* compile_error = nullptr;
  if (hs_compile_lit_multi(exprs.data(), flags.data(), ids.data(), lens.data(),
                           static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK, nullptr, &set->db_,
                           &compile_error) != HS_SUCCESS) {
    *error = std::string("cannot compile the phrases: ") +
             (compile_error != nullptr && compile_error->message != nullptr ? compile_error->message
                                                                            : "unknown error");
    hs_free_compile_error(compile_error);
    return nullptr;
  }
  if (shared && !RegisterSharedDatabase(set->db_)) {
    *error = "cannot allocate Vectorscan scratch space";
    return nullptr;
  }
  return set;
}

PhraseSet::~PhraseSet() { hs_free_database(db_); }

int PhraseSet::Find(std::string_view value, bool want_phrase) const noexcept {
  if (db_ == nullptr) return -1;
  hs_scratch_t* scratch = SharedScratch();
  if (!shared_) {
    // Grows this thread's scratch for a database only it uses (a no-op once it fits).
    if (hs_alloc_scratch(db_, &tls_scratch.scratch) != HS_SUCCESS) return -1;
    scratch = tls_scratch.scratch;
  }
  // Without scratch (out of memory) nothing can be scanned: no match, as v3 does on errors.
  if (scratch == nullptr) return -1;
  // hs_scan takes an unsigned length; values are bounded by the body limits far below 4 GiB.
  const std::size_t length = std::min<std::size_t>(value.size(), UINT_MAX - kScanPadding);
  std::string& padded = tls_padded;
  try {
    padded.assign(value.data() != nullptr ? value.data() : "", length);
    padded.append(kScanPadding, pad_);
  } catch (const std::bad_alloc&) {
    return -1;  // out of memory: nothing can be scanned, as without scratch space
  }
  Search search{this, want_phrase, length};
  const hs_error_t rc = hs_scan(db_, padded.data(), static_cast<unsigned>(padded.size()), 0,
                                scratch, &Search::OnMatch, &search);
  if (padded.capacity() > kKeptPadded) std::string().swap(padded);
  if (rc != HS_SUCCESS && rc != HS_SCAN_TERMINATED) return -1;
  return search.best;
}

}  // namespace rampart::waf::op_internal
