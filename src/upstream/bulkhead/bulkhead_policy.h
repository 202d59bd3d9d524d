// The bulkhead upstream policy: a cap on the exchanges in flight at one upstream, from every
// worker, so a slow dependency holds at most that many requests (and their connections and
// clients) instead of all of them. Routes may hold reserved places that only they use, so a slow
// reporting route cannot starve payments of a shared upstream. Beyond the cap a request waits in
// a bounded queue for at most `queue_timeout`, then gets 503 upstream_overloaded. See README.md.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "core/clock.h"
#include "observe/metrics.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"

namespace rampart::upstream::bulkhead {

struct Reservation {
  std::string route;
  std::uint32_t places = 0;
};

struct BulkheadConfig {
  std::uint32_t max_requests = 1000;  // in flight at the upstream, reserved places included
  std::uint32_t max_connections = 0;  // HTTP/1.1 connections in use, every worker; 0: no cap
  std::uint32_t max_pending = 0;      // waiting for a place at once; 0: none waits
  std::chrono::microseconds queue_timeout{100'000};
  std::vector<Reservation> reserve;  // places only these routes use
};

const config::Fields<BulkheadConfig>& BulkheadFields();

// The places, shared by every worker: lock-free counters.
class Places {
 public:
  explicit Places(const BulkheadConfig& c);
  // A place for an exchange of `route`: 1 (shared), 2 (the route's reserve), or 0 (none).
  int Take(std::string_view route) noexcept;
  void Give(std::string_view route, int kind) noexcept;
  bool EnterQueue() noexcept;  // false when max_pending are waiting
  void LeaveQueue() noexcept { pending_.fetch_sub(1, std::memory_order_relaxed); }
  std::int64_t shared_in_flight() const noexcept { return shared_.load(); }
  std::int64_t pending() const noexcept { return pending_.load(); }
  std::int64_t reserved_in_flight(std::size_t i) const noexcept { return reserved_[i].load(); }

 private:
  static bool TakeOne(std::atomic<std::int64_t>& n, std::int64_t limit) noexcept;
  int Index(std::string_view route) const noexcept;

  std::vector<Reservation> reserve_;
  std::unique_ptr<std::atomic<std::int64_t>[]> reserved_;
  std::int64_t shared_limit_;
  std::uint32_t max_pending_;
  alignas(64) std::atomic<std::int64_t> shared_{0};
  alignas(64) std::atomic<std::int64_t> pending_{0};
};

class BulkheadPolicy final : public Policy {
 public:
  struct Counters {
    std::vector<std::pair<std::string, observe::CounterSeries*>> rejected;  // by route
    observe::CounterSeries* queued = nullptr;
  };
  BulkheadPolicy(BulkheadConfig config, std::shared_ptr<Places> places, Counters counters,
                 std::function<SteadyTime()> clock);
  std::string_view Name() const noexcept override { return "bulkhead"; }
  http::ErrorKind RefusedAs() const noexcept override { return http::ErrorKind::kBulkheadFull; }
  Verdict Before(const AttemptInfo& a) noexcept override;
  void Ended(const AttemptInfo& a, const AttemptOutcome& o) noexcept override;
  void Describe(std::string& out) const override;
  const Places& places() const noexcept { return *places_; }

 private:
  void Rejected(const AttemptInfo& a) noexcept;

  BulkheadConfig config_;
  std::shared_ptr<Places> places_;  // kept across reloads while the limits stay the same
  Counters counters_;
  std::function<SteadyTime()> clock_;
};

std::shared_ptr<Policy> MakeBulkhead(const YAML::Node& settings, PolicyContext& ctx);

}  // namespace rampart::upstream::bulkhead
