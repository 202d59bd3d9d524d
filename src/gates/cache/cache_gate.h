// The cache gate: answers GET and HEAD from a shared in-memory store under RFC 9111's rules
// for a shared cache, revalidates stale entries with the origin (a 304 refreshes the entry),
// answers clients' conditional requests itself (304), and drops what unsafe methods change.
// Safe by default: requests with Authorization or cookies pass through, answers with Set-Cookie
// are not stored, unless the route says otherwise. See README.md.
#pragma once

#include <memory>
#include <string>

#include "gates/cache/cache_config.h"
#include "gates/cache/cache_store.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::cache {

class CacheGate final : public Gate {
 public:
  CacheGate(CacheConfig config, std::shared_ptr<CacheStore> store,
            observe::OutcomeCounters counters);
  std::string_view Name() const noexcept override { return "cache"; }
  GateNeeds Needs() const noexcept override;
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  Decision OnResponseHeaders(Exchange& ex) noexcept override;
  void OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept override;
  void OnComplete(const Exchange& ex, const Completion& c) noexcept override;

  // The key of a request (also what an unsafe method invalidates): method GET, scheme, host,
  // path, the chosen query parameters sorted, the chosen header values, the principal.
  std::string Key(const Exchange& ex) const;

 private:
  Decision Serve(Exchange& ex, const CachedResponse& e, std::string_view state) const;
  void Note(Exchange& ex, std::string_view outcome) const;

  CacheConfig config_;
  std::shared_ptr<CacheStore> store_;
  observe::OutcomeCounters counters_;
};

std::unique_ptr<Gate> MakeCacheGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::cache
