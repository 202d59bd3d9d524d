#include "upstream/outlier_detection/outlier_policy.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "upstream/upstream_spec.h"

namespace rampart::upstream::outlier {

namespace {

using config::YamlReader;
using std::chrono::microseconds;

std::int64_t Nanos(SteadyTime t) noexcept { return EndpointState::Nanos(t); }

}  // namespace

std::string_view ReasonName(Reason r) noexcept {
  switch (r) {
    case Reason::kConsecutive5xx:
      return "consecutive_5xx";
    case Reason::kConsecutiveGateway:
      return "consecutive_gateway_failures";
    case Reason::kSuccessRate:
      return "success_rate";
  }
  return "";
}

const config::Fields<OutlierConfig>& OutlierFields() {
  static const config::Fields<OutlierConfig> f = [] {
    config::Fields<OutlierConfig> d;
    d.Uint("consecutive_5xx", &OutlierConfig::consecutive_5xx, 0, 100'000)
        .Uint("consecutive_gateway_failures", &OutlierConfig::consecutive_gateway_failures, 0,
              100'000)
        .Percent("success_rate", &OutlierConfig::success_rate, 0, 100)
        .Uint("success_rate_minimum_calls", &OutlierConfig::success_rate_minimum_calls, 1,
              1'000'000)
        .Duration("interval", &OutlierConfig::interval, std::chrono::milliseconds(100),
                  std::chrono::hours(1))
        .Duration("base_ejection_time", &OutlierConfig::base_ejection_time,
                  std::chrono::milliseconds(10), std::chrono::hours(1))
        .Duration("max_ejection_time", &OutlierConfig::max_ejection_time,
                  std::chrono::milliseconds(10), std::chrono::hours(24))
        .Percent("max_ejection_percent", &OutlierConfig::max_ejection_percent, 0, 100)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, OutlierConfig& c) {
          if (c.max_ejection_time < c.base_ejection_time) {
            r.Error(at, fmt::format("{}: max_ejection_time is shorter than base_ejection_time", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

OutlierPolicy::OutlierPolicy(OutlierConfig config, std::string upstream,
                             std::vector<std::string> names, std::shared_ptr<EndpointHealth> health,
                             Counters counters, std::function<SteadyTime()> clock)
    : config_(std::move(config)),
      upstream_(std::move(upstream)),
      names_(std::move(names)),
      health_(std::move(health)),
      counters_(counters),
      clock_(std::move(clock)) {}

std::size_t OutlierPolicy::MaxEjected() const noexcept {
  const std::size_t n = health_->size();
  if (n <= 1) return 0;  // a pool is never emptied by ejection
  const auto share =
      static_cast<std::size_t>(std::floor(config_.max_ejection_percent * static_cast<double>(n)));
  return std::min(std::max<std::size_t>(share, 1), n - 1);
}

bool OutlierPolicy::Eject(std::size_t i, Reason why, SteadyTime now, int worker) noexcept {
  std::lock_guard lock(mu_);
  EndpointState& e = health_->at(i);
  if (e.Ejected(now)) return false;
  if (health_->EjectedCount(now) >= MaxEjected()) {
    if (counters_.skipped) counters_.skipped->Add(worker);
    return false;
  }
  const std::uint32_t k = e.ejections.load(std::memory_order_relaxed) + 1;
  const microseconds base = config_.base_ejection_time;
  const microseconds time =
      std::min(base * static_cast<std::int64_t>(k), std::max(base, config_.max_ejection_time));
  e.ejections.store(k, std::memory_order_relaxed);
  e.consecutive_errors.store(0, std::memory_order_relaxed);
  e.consecutive_gateway.store(0, std::memory_order_relaxed);
  e.ejected_until.store(Nanos(now + time), std::memory_order_relaxed);
  if (auto* c = counters_.ejections[static_cast<std::size_t>(why)]) c->Add(worker);
  spdlog::warn("upstream {}: endpoint {} ejected for {}ms ({})", upstream_, names_[i],
               std::chrono::duration_cast<std::chrono::milliseconds>(time).count(),
               ReasonName(why));
  return true;
}

void OutlierPolicy::Record(std::size_t i, const AttemptOutcome& o, SteadyTime now,
                           int worker) noexcept {
  // The origin never saw it (a stale pooled connection, a refused stream), or the client left
  // before an outcome: nothing about the endpoint.
  if (o.error.kind == http::ErrorKind::kStale || o.error.kind == http::ErrorKind::kRefusedStream)
    return;
  const bool gateway = o.error && o.error.upstream();
  if (!gateway && o.status == 0) return;
  const bool failed = gateway || o.status >= 500;
  EndpointState& e = health_->at(i);
  e.interval_calls.fetch_add(1, std::memory_order_relaxed);
  if (!failed) {
    // Only a change is written: healthy traffic does not bounce the line between workers.
    if (e.consecutive_errors.load(std::memory_order_relaxed) != 0)
      e.consecutive_errors.store(0, std::memory_order_relaxed);
    if (e.consecutive_gateway.load(std::memory_order_relaxed) != 0)
      e.consecutive_gateway.store(0, std::memory_order_relaxed);
  } else {
    e.interval_failures.fetch_add(1, std::memory_order_relaxed);
    const std::uint32_t n = e.consecutive_errors.fetch_add(1, std::memory_order_relaxed) + 1;
    const std::uint32_t g =
        gateway ? e.consecutive_gateway.fetch_add(1, std::memory_order_relaxed) + 1 : 0;
    if (config_.consecutive_gateway_failures > 0 && g >= config_.consecutive_gateway_failures) {
      Eject(i, Reason::kConsecutiveGateway, now, worker);
    } else if (config_.consecutive_5xx > 0 && n >= config_.consecutive_5xx) {
      Eject(i, Reason::kConsecutive5xx, now, worker);
    }
  }
  if (Nanos(now) >= next_check_.load(std::memory_order_relaxed)) CheckInterval(now, worker);
}

void OutlierPolicy::CheckInterval(SteadyTime now, int worker) noexcept {
  std::int64_t due = next_check_.load(std::memory_order_relaxed);
  const std::int64_t next = Nanos(now + config_.interval);
  if (Nanos(now) < due || !next_check_.compare_exchange_strong(due, next)) return;
  if (due == 0) return;  // the first call starts the first interval
  for (std::size_t i = 0; i < health_->size(); ++i) {
    EndpointState& e = health_->at(i);
    const std::uint32_t calls = e.interval_calls.exchange(0, std::memory_order_relaxed);
    const std::uint32_t failures =
        std::min(calls, e.interval_failures.exchange(0, std::memory_order_relaxed));
    if (config_.success_rate > 0 && calls >= config_.success_rate_minimum_calls &&
        static_cast<double>(calls - failures) / calls < config_.success_rate) {
      Eject(i, Reason::kSuccessRate, now, worker);
      continue;
    }
    // An endpoint that was in through a whole interval has its next ejection shortened by one
    // step; one that fails again as soon as it is back is ejected for longer.
    const std::int64_t interval_start =
        due - std::chrono::duration_cast<std::chrono::nanoseconds>(config_.interval).count();
    std::lock_guard lock(mu_);
    const std::uint32_t k = e.ejections.load(std::memory_order_relaxed);
    if (k > 0 && e.ejected_until.load(std::memory_order_relaxed) <= interval_start)
      e.ejections.store(k - 1, std::memory_order_relaxed);
  }
}

Verdict OutlierPolicy::After(const AttemptInfo& a, const AttemptOutcome& o) noexcept {
  if (a.endpoint < health_->size()) Record(a.endpoint, o, a.NowOr(clock_), a.worker);
  return Verdict::kContinue;
}

void OutlierPolicy::Describe(std::string& out) const {
  fmt::format_to(std::back_inserter(out), ",\"ejected\":{},\"max_ejected\":{}",
                 health_->EjectedCount(clock_()), MaxEjected());
}

std::shared_ptr<Policy> MakeOutlierDetection(const YAML::Node& settings, PolicyContext& ctx) {
  OutlierConfig c;
  if (!OutlierFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  if (ctx.spec == nullptr || !ctx.spec->health) return nullptr;
  const std::string& name = ctx.upstream.name;
  static constexpr observe::CounterDef<2> kEjections{
      "rampart_upstream_ejections_total",
      "Endpoints ejected by outlier detection, by upstream and reason.",
      {"upstream", "reason"}};
  static constexpr observe::CounterDef<1> kSkipped{
      "rampart_upstream_ejections_skipped_total",
      "Ejections not made because max_ejection_percent of the pool was already ejected.",
      {"upstream"}};
  OutlierPolicy::Counters counters;
  for (std::size_t r = 0; r < counters.ejections.size(); ++r)
    counters.ejections[r] =
        ctx.metrics.Counter(kEjections, {name, ReasonName(static_cast<Reason>(r))});
  counters.skipped = ctx.metrics.Counter(kSkipped, {name});
  std::vector<std::string> names;
  for (const auto& ep : ctx.spec->endpoints) names.push_back(ep.address_text);
  return std::make_shared<OutlierPolicy>(std::move(c), name, std::move(names), ctx.spec->health,
                                         counters, [] { return std::chrono::steady_clock::now(); });
}

}  // namespace rampart::upstream::outlier
