// The cache gate: answers GET and HEAD from a shared in-memory store under RFC 9111's rules
// for a shared cache, revalidates stale entries with the origin (a 304 refreshes the entry),
// answers clients' conditional requests itself (304), and drops what unsafe methods change.
// Safe by default: requests with Authorization or cookies pass through, answers with Set-Cookie
// are not stored, unless the route says otherwise. See README.md.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/regex.h"
#include "gates/cache/cache_config.h"
#include "gates/cache/cache_control.h"
#include "gates/cache/cache_store.h"
#include "gates/cache/flights.h"
#include "gates/cache/shared_tier.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::cache {

// The gate's wall clock and random numbers (uniform in (0, 1]): the system's, or a test's.
struct CacheClock {
  std::function<WallTime()> now;
  std::function<double()> random;
  static CacheClock System();
};

class CacheGate final : public Gate {
 public:
  // What the gate decided (rampart_cache_requests_total's outcome label): counted and noted by
  // index, not by comparing tokens.
  enum class Outcome : std::uint8_t;
  // `shared`: null without a shared tier.
  CacheGate(CacheConfig config, std::shared_ptr<CacheStore> store, std::shared_ptr<Flights> flights,
            std::shared_ptr<SharedTier> shared, observe::OutcomeCounters counters,
            CacheClock clock = CacheClock::System());
  std::string_view Name() const noexcept override { return "cache"; }
  GateNeeds Needs() const noexcept override;
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  // A miss while another exchange fetches the same key: waits for it, then looks again. A miss
  // that leads its key, with a shared tier: asks the shared tier first.
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override;
  Decision OnResponseHeaders(Exchange& ex) noexcept override;
  // An unsafe method's invalidation reaching the shared tier.
  boost::asio::awaitable<Decision> OnResponseHeadersAsync(Exchange& ex) noexcept override;
  void OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept override;
  void OnComplete(const Exchange& ex, const Completion& c) noexcept override;

  // The key of a request (also what an unsafe method invalidates): method GET, scheme, host,
  // path, the chosen query parameters sorted, the chosen header values, the principal.
  std::string Key(const Exchange& ex) const { return KeyFor(ex, ex.path, ex.query); }
  // The same for another target of the request's authority (Location, Content-Location).
  std::string KeyFor(const Exchange& ex, std::string_view path, std::string_view query) const;
  // The same into `key` (its contents replaced, its capacity reused).
  void BuildKey(const Exchange& ex, std::string_view path, std::string_view query,
                std::string& key) const;

 private:
  Decision Serve(Exchange& ex, const CachedResponse& e, std::string_view state,
                 Outcome outcome) const;
  void Note(Exchange& ex, Outcome outcome) const;
  // The origin's answer to an unsafe method: a success drops the target's entries.
  Decision Invalidated(Exchange& ex);
  // The origin's 304 to a revalidation: the stored entry, refreshed, answers.
  Decision Revalidated(Exchange& ex);
  // A storable answer from the origin: its entry is built, and offered to the key's waiters as
  // it arrives; OnResponseBody and OnComplete fill and store it.
  Decision Admit(Exchange& ex, const CacheControl& scc, bool negative,
                 std::vector<std::string> vary);
  // A stored entry for a GET's key (the exchange's gate state is built, with the key): served
  // (fresh, or stale within stale-while-revalidate), refused (only-if-cached), or nullopt: the
  // exchange goes on to the origin, revalidating the entry when it has validators and the client
  // brought none.
  std::optional<Decision> FromStored(Exchange& ex,
                                     std::shared_ptr<const CachedResponse> entry) const;
  // A background copy of an exchange (ex.background): to the origin, leading its key.
  // `authorization`: the copied request carries credentials (RFC 9111 section 3.5 applies).
  // The exchange's gate state holds the key.
  Decision Refresh(Exchange& ex, std::shared_ptr<const CachedResponse> entry,
                   bool authorization) const;
  // XFetch: whether a fresh entry of this age should be refreshed before it expires.
  bool EarlyRefresh(const CachedResponse& e, std::chrono::seconds age) const;
  // Asks the driver for a background refresh of `key` unless one is under way.
  void AskRefresh(Exchange& ex, std::string_view key) const;
  std::chrono::microseconds Lease() const noexcept;
  // Whether `query` is part of keys (the route keys by query parameters and there are some).
  bool QueryCounts(std::string_view query) const noexcept {
    return config_.query != CacheConfig::Query::kNone && !query.empty();
  }
  // Whether the request's key is its URL and route alone (WriteUrlKey's form): nothing else of
  // the request is keyed.
  bool KeyIsUrl(const Exchange& ex) const noexcept {
    return url_key_ && !ex.from_trusted_peer && !QueryCounts(ex.query);
  }
  // A local miss that leads its key here: the shared tier's entry, or its lock (then the origin),
  // or another instance's answer once it lands there.
  boost::asio::awaitable<Decision> FromShared(Exchange& ex);
  // An entry from the shared tier: kept locally too, then served.
  Decision ServeShared(Exchange& ex, std::shared_ptr<CachedResponse> e, Outcome outcome) const;
  // Writes a stored answer to the shared tier when this exchange holds the key's lock there.
  void Publish(const Exchange& ex, std::shared_ptr<const CachedResponse> e) const;

  CacheConfig config_;
  std::shared_ptr<CacheStore> store_;
  std::shared_ptr<Flights> flights_;
  std::shared_ptr<SharedTier> shared_;  // null: no shared tier
  observe::OutcomeCounters counters_;
  CacheClock clock_;
  std::unique_ptr<Regex> key_filter_;  // the whole path of a GET or HEAD must match; null: none
  // The route keys by no chosen fields and no principal (so a key may be the URL alone).
  bool url_key_ = false;
};

std::unique_ptr<Gate> MakeCacheGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::cache
