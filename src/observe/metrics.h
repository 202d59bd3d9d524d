// Counters and histograms, sharded per worker: each worker writes only its own slot (relaxed
// load+store, no lock, no contended cache line); the admin thread sums the slots when scraped.
// Families are created at config load and never removed, so snapshots can hold raw pointers.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rampart::observe {

// A counter slot written by one thread only.
struct Counter {
  std::atomic<std::uint64_t> value{0};
  void Add(std::uint64_t n = 1) noexcept {
    value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t Get() const noexcept { return value.load(std::memory_order_relaxed); }
};

// Latency buckets in seconds (Prometheus `le`).
inline constexpr std::array<double, 14> kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct alignas(64) RouteSlot {
  std::array<Counter, 6> by_class;                          // index 1..5 = 1xx..5xx
  std::array<Counter, kLatencyBuckets.size() + 1> latency;  // last = +Inf
  Counter latency_sum_us;
};

class RouteStats {
 public:
  RouteStats(std::string name, int slots);
  void Record(int slot, int status, std::uint64_t latency_us) noexcept;
  const std::string& name() const noexcept { return name_; }
  void RenderCounts(std::string& out, int slots) const;     // rampart_http_requests_total
  void RenderHistogram(std::string& out, int slots) const;  // rampart_http_request_duration_seconds

 private:
  std::string name_;
  std::unique_ptr<RouteSlot[]> slots_;
};

enum class UpstreamError : std::uint8_t { kConnectFailure, kTimeout, kReset, kBadResponse, kCount };

struct alignas(64) UpstreamSlot {
  Counter requests;
  Counter connections_opened;
  Counter connections_reused;
  Counter drain_cuts;  // requests cut when their endpoint's drain timed out
  std::array<Counter, static_cast<int>(UpstreamError::kCount)> errors;
  void Count(UpstreamError e) noexcept { errors[static_cast<int>(e)].Add(); }
};

class UpstreamStats {
 public:
  UpstreamStats(std::string name, int slots);
  UpstreamSlot& slot(int i) noexcept { return slots_[i]; }
  const UpstreamSlot& slot(int i) const noexcept { return slots_[i]; }
  const std::string& name() const noexcept { return name_; }
  // Family 0: requests, 1: connections opened, 2: connections reused, 3: errors by kind,
  // 4: drain cuts.
  void Render(std::string& out, int slots, int family) const;

 private:
  std::string name_;
  std::unique_ptr<UpstreamSlot[]> slots_;
};

// Core local replies, by reason token.
enum class LocalReason : std::uint8_t {
  kBadRequest,
  kUriTooLong,
  kHeadersTooLarge,
  kBodyTooLarge,
  kRequestTimeout,
  kNoRoute,
  kUpstreamUnavailable,
  kUpstreamTimeout,
  kUpstreamBadResponse,
  kUpstreamCircuitOpen,
  kUpstreamOverloaded,
  kRangeNotSatisfiable,
  kCount
};
std::string_view ReasonToken(LocalReason r) noexcept;
int ReasonStatus(LocalReason r) noexcept;

struct alignas(64) WorkerSlot {
  Counter connections_accepted;
  std::atomic<std::int64_t> connections_active{0};  // gauge; same single-writer rule
  Counter requests;
};

// A counter family, declared once where it is defined: its name, help, and label names. Series
// of it are made with label values (Metrics::Counter), which are escaped there, so no name a
// user chose (a route called `a"b`) can break the scrape.
template <std::size_t N>
struct CounterDef {
  std::string_view name;
  std::string_view help;
  std::array<std::string_view, N> labels;
};

// `a="x",b="y"`, values escaped for the Prometheus text format (backslash, quote, newline).
std::string FormatLabels(std::span<const std::string_view> names,
                         std::span<const std::string_view> values);
std::string EscapeLabelValue(std::string_view value);

// One labelled series of a gate's counter family, one slot per worker.
class CounterSeries {
 public:
  explicit CounterSeries(int slots) : slots_(new Slot[slots]) {}
  void Add(int worker, std::uint64_t n = 1) noexcept { slots_[worker].c.Add(n); }
  std::uint64_t Sum(int slots) const noexcept;

 private:
  struct alignas(64) Slot {
    Counter c;
  };
  std::unique_ptr<Slot[]> slots_;
};

class Metrics {
 public:
  explicit Metrics(int workers);
  int slots() const noexcept { return slots_; }
  // Returns the family for `name`, creating it on first use (config load, control thread).
  RouteStats* Route(const std::string& name);
  UpstreamStats* Upstream(const std::string& name);
  WorkerSlot& worker(int i) noexcept { return workers_[i]; }
  // The series of `def` with these label values: created on first use at config load (control
  // thread), kept across reloads, rendered in name order.
  template <std::size_t N>
  CounterSeries* Counter(const CounterDef<N>& def, const std::array<std::string_view, N>& values) {
    return Series(def.name, def.help, FormatLabels(def.labels, values));
  }
  // Text appended to every scrape by a long-lived component (gauges it computes on demand).
  // Called under the metrics lock on the admin thread; the component must outlive Metrics.
  void AddCollector(std::function<void(std::string&)> collect);
  void CountReload(bool ok) noexcept { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1); }

  // `access_log_dropped`: lines the access log's queue dropped (observe::AccessLog::dropped()).
  std::string RenderPrometheus(std::uint64_t access_log_dropped) const;

 private:
  CounterSeries* Series(std::string_view family, std::string_view help, std::string labels);

  int slots_;
  mutable std::mutex mu_;  // guards the maps, not the counters
  std::map<std::string, std::unique_ptr<RouteStats>> routes_;
  std::map<std::string, std::unique_ptr<UpstreamStats>> upstreams_;
  std::unique_ptr<WorkerSlot[]> workers_;
  struct Family {
    std::string help;
    std::map<std::string, std::unique_ptr<CounterSeries>, std::less<>> series;  // by labels
  };
  std::map<std::string, Family, std::less<>> families_;
  std::vector<std::function<void(std::string&)>> collectors_;
  std::atomic<std::uint64_t> reloads_ok_{0}, reloads_failed_{0};
};

// rampart_http_local_replies_total{reason}: answers rampart gave itself, by their reason token.
inline constexpr CounterDef<1> kLocalReplies{"rampart_http_local_replies_total",
                                             "Requests answered by rampart itself, by reason.",
                                             {"reason"}};

// A snapshot's local-reply counters by reason token: the core reasons and every reason its gates
// declare (Gate::Reasons). Looked up on the request path without a lock; an undeclared token is
// counted as "gate".
class LocalReplyCounters {
 public:
  // Control thread, at snapshot build.
  void Declare(Metrics& metrics, std::string_view token);
  void Count(int worker, std::string_view token) const noexcept;

 private:
  std::vector<std::pair<std::string, CounterSeries*>> by_token_;
  CounterSeries* other_ = nullptr;
};

}  // namespace rampart::observe
