#include "upstream/adaptive_concurrency/adaptive_concurrency_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/strings.h"
#include "state/stores.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::adaptive {

namespace {

using config::YamlReader;

bool ReadPriorities(YamlReader& r, const YAML::Node& n, const std::string& p, AdaptiveConfig& c) {
  if (!n.IsMap()) {
    r.Error(n, fmt::format("{}: a mapping of route name to critical, normal or bulk, e.g. "
                           "{{payments: critical, reports: bulk}}",
                           p));
    return false;
  }
  c.priorities.clear();
  for (const auto& kv : n) {
    Priority pr = Priority::kNormal;
    if (!r.Choice(kv.second, fmt::format("{}.{}", p, kv.first.Scalar()),
                  {{"critical", Priority::kCritical},
                   {"normal", Priority::kNormal},
                   {"bulk", Priority::kBulk}},
                  pr))
      return false;
    c.priorities.emplace_back(kv.first.Scalar(), pr);
  }
  return true;
}

}  // namespace

GradientConfig AdaptiveConfig::Gradient() const noexcept {
  GradientConfig g;
  g.min_limit = min_limit;
  g.max_limit = max_limit;
  g.initial_limit = initial_limit;
  g.interval = interval;
  g.percentile = percentile / 100.0;
  g.buffer = buffer / 100.0;
  g.min_rtt_interval = min_rtt_interval;
  g.min_rtt_samples = min_rtt_samples;
  return g;
}

const config::Fields<AdaptiveConfig>& AdaptiveFields() {
  static const config::Fields<AdaptiveConfig> f = [] {
    config::Fields<AdaptiveConfig> d;
    using std::chrono::milliseconds;
    d.Uint("min_limit", &AdaptiveConfig::min_limit, 1, 1'000'000)
        .Uint("max_limit", &AdaptiveConfig::max_limit, 1, 1'000'000)
        .Uint("initial_limit", &AdaptiveConfig::initial_limit, 1, 1'000'000)
        .Duration("interval", &AdaptiveConfig::interval, milliseconds(10), std::chrono::seconds(10))
        .Percent("percentile", &AdaptiveConfig::percentile, 1, 100)
        .Percent("buffer", &AdaptiveConfig::buffer, 0, 500)
        .Duration("min_rtt_interval", &AdaptiveConfig::min_rtt_interval, milliseconds(100),
                  std::chrono::hours(24))
        .Uint("min_rtt_samples", &AdaptiveConfig::min_rtt_samples, 1, 100'000)
        .Percent("critical_reserve", &AdaptiveConfig::critical_reserve, 0, 90)
        .Percent("bulk_share", &AdaptiveConfig::bulk_share, 1, 100)
        .Custom("priorities", ReadPriorities)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, AdaptiveConfig& c) {
          if (c.min_limit > c.max_limit) {
            r.Error(at, fmt::format("{}: min_limit {} is above max_limit {}", p, c.min_limit,
                                    c.max_limit));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

AdaptiveConcurrencyPolicy::AdaptiveConcurrencyPolicy(AdaptiveConfig config,
                                                     std::shared_ptr<AdaptiveState> state,
                                                     Counters counters,
                                                     std::function<SteadyTime()> clock)
    : config_(std::move(config)),
      state_(std::move(state)),
      counters_(std::move(counters)),
      clock_(std::move(clock)) {}

std::int64_t AdaptiveConcurrencyPolicy::Allowed(std::uint32_t limit, Priority p,
                                                const AdaptiveConfig& c) noexcept {
  double share = 1.0;
  if (p == Priority::kNormal) share = 1.0 - c.critical_reserve / 100.0;
  if (p == Priority::kBulk) share = std::min(c.bulk_share, 100.0 - c.critical_reserve) / 100.0;
  // At least one place for every priority: a limit of 1 still serves someone of each kind
  // before shedding them in order.
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::floor(limit * share)));
}

Priority AdaptiveConcurrencyPolicy::PriorityOf(std::string_view route) const noexcept {
  for (const auto& [name, p] : config_.priorities) {
    if (name == route) return p;
  }
  return Priority::kNormal;
}

Verdict AdaptiveConcurrencyPolicy::Before(const AttemptInfo& a) noexcept {
  if (a.exchange == nullptr || *a.exchange != 0) return Verdict::kContinue;  // a retry keeps it
  const std::int64_t allowed = Allowed(state_->controller.limit(), PriorityOf(a.route), config_);
  if (state_->in_flight.fetch_add(1, std::memory_order_relaxed) >= allowed) {
    state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    for (auto& [route, series] : counters_.rejected) {
      if (route == a.route && series) series->Add(a.worker);
    }
    return Verdict::kRefuse;
  }
  *a.exchange = 1;
  return Verdict::kContinue;
}

Verdict AdaptiveConcurrencyPolicy::After(const AttemptInfo& a, const AttemptOutcome& o) noexcept {
  // The upstream's own latency to a head: its 5xx answers (often fast refusals) and failures
  // say nothing about how long it takes to serve.
  if (o.status > 0 && o.status < 500) {
    state_->controller.Sample(
        o.latency, static_cast<std::uint32_t>(std::max<std::int64_t>(0, state_->in_flight.load())),
        a.NowOr(clock_));
  }
  return Verdict::kContinue;
}

void AdaptiveConcurrencyPolicy::Ended(const AttemptInfo& a, const AttemptOutcome&) noexcept {
  if (a.exchange == nullptr || *a.exchange == 0) return;
  state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
  *a.exchange = 0;
}

void AdaptiveConcurrencyPolicy::Describe(std::string& out) const {
  const GradientController& g = state_->controller;
  fmt::format_to(std::back_inserter(out),
                 ",\"limit\":{},\"in_flight\":{},\"calibrating\":{},\"min_rtt_ms\":{:.3f},"
                 "\"sample_rtt_ms\":{:.3f}",
                 g.limit(), state_->in_flight.load(), g.calibrating() ? "true" : "false",
                 g.min_rtt().count() / 1000.0, g.last_sample_rtt().count() / 1000.0);
}

namespace {

// `name`: the upstream whose limit this is, or kGlobalName for the gateway-wide one.
std::shared_ptr<Policy> Make(const YAML::Node& settings, PolicyContext& ctx,
                             const std::string& name) {
  AdaptiveConfig c;
  if (!AdaptiveFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  for (const auto& [route, _] : c.priorities) {
    const bool known = std::any_of(ctx.config.routes.begin(), ctx.config.routes.end(),
                                   [&](const auto& r) { return r.name == route; });
    if (!known) {
      ctx.reader.Error(settings["priorities"],
                       fmt::format("{}.priorities: no route named '{}'", ctx.where, route));
      return nullptr;
    }
  }
  static constexpr observe::CounterDef<2> kRejected{
      "rampart_upstream_concurrency_rejected_total",
      "Requests an upstream's adaptive concurrency limit answered 503 concurrency_limited, by "
      "upstream and route.",
      {"upstream", "route"}};
  AdaptiveConcurrencyPolicy::Counters counters;
  for (const auto& r : ctx.config.routes)
    counters.rejected.emplace_back(r.name, ctx.metrics.Counter(kRejected, {name, r.name}));
  // The same upstream and controller settings find the same state after a reload: the limit it
  // learned and the exchanges still in flight carry over.
  const GradientConfig g = c.Gradient();
  const std::string identity = fmt::format(
      "adaptive:{}:{}:{}:{}:{}:{}:{}:{}:{}", name, g.min_limit, g.max_limit, g.initial_limit,
      g.interval.count(), g.percentile, g.buffer, g.min_rtt_interval.count(), g.min_rtt_samples);
  auto state = ctx.stores.Local<AdaptiveState>(
      identity,
      [&] { return std::make_shared<AdaptiveState>(g, std::chrono::steady_clock::now()); },
      {{"rampart_upstream_concurrency_limit", "gauge", "An upstream's adaptive concurrency limit."},
       {"rampart_upstream_concurrency_in_flight", "gauge",
        "Exchanges in flight toward an upstream with an adaptive concurrency limit."}},
      [name](std::weak_ptr<AdaptiveState> weak) -> state::Stores::Render {
        return [weak, name](std::string& out, std::string_view family) {
          auto s = weak.lock();
          if (!s) return;
          const std::string label = observe::EscapeLabelValue(name);
          if (family == "rampart_upstream_concurrency_limit") {
            out += fmt::format("rampart_upstream_concurrency_limit{{upstream=\"{}\"}} {}\n", label,
                               s->controller.limit());
          } else if (family == "rampart_upstream_concurrency_in_flight") {
            out += fmt::format("rampart_upstream_concurrency_in_flight{{upstream=\"{}\"}} {}\n",
                               label, s->in_flight.load());
          }
        };
      });
  return std::make_shared<AdaptiveConcurrencyPolicy>(
      std::move(c), std::move(state), std::move(counters),
      [] { return std::chrono::steady_clock::now(); });
}

}  // namespace

std::shared_ptr<Policy> MakeAdaptiveConcurrency(const YAML::Node& settings, PolicyContext& ctx) {
  return Make(settings, ctx, ctx.upstream.name);
}

std::shared_ptr<Policy> MakeGlobalAdaptiveConcurrency(const YAML::Node& settings,
                                                      PolicyContext& ctx) {
  // One state for every upstream (the identity has no upstream in it): each upstream's policy
  // object counts into the same in-flight total and feeds the same controller.
  return Make(settings, ctx, std::string(kGlobalName));
}

}  // namespace rampart::upstream::adaptive
