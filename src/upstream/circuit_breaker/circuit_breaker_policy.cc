#include "upstream/circuit_breaker/circuit_breaker_policy.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "core/strings.h"
#include "state/stores.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::breaker {

namespace {

using config::YamlReader;

// `window: 100` (the last 100 calls) or `window: 10s` (the calls of the last 10 seconds).
bool ReadWindow(YamlReader& r, const YAML::Node& n, const std::string& p, CircuitBreakerConfig& c) {
  std::string text;
  if (!r.String(n, p, text)) return false;
  std::uint32_t calls = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), calls);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (calls < 1 || calls > 100'000) {
      r.Error(n, fmt::format("{}: a window of 1 to 100000 calls, or a duration", p));
      return false;
    }
    c.breaker.window = BreakerConfig::Window::kCalls;
    c.breaker.window_calls = calls;
    return true;
  }
  std::chrono::microseconds d{};
  if (!r.Duration(n, p, d)) return false;
  if (d < std::chrono::seconds(1) || d > std::chrono::hours(1)) {
    r.Error(n, fmt::format("{}: a time window from 1s to 1h", p));
    return false;
  }
  c.breaker.window = BreakerConfig::Window::kTime;
  c.breaker.window_time = std::chrono::duration_cast<std::chrono::milliseconds>(d);
  return true;
}

using Reader = config::Fields<CircuitBreakerConfig>::Reader;

// A percentage from `min` to 100, and at most `cap`, into the breaker's `m`.
Reader Percent(double BreakerConfig::*m, double min, double cap) {
  return [m, min, cap](YamlReader& r, const YAML::Node& n, const std::string& p,
                       CircuitBreakerConfig& c) {
    double v = 0;
    if (!r.Percent(n, p, min, 100, v)) return false;
    if (v > cap) {
      r.Error(n, fmt::format("{}: at most {}%", p, cap));
      return false;
    }
    c.breaker.*m = v / 100.0;
    return true;
  };
}

// A number of calls from `min` to `max` into the breaker's `m`.
Reader Count(std::uint32_t BreakerConfig::*m, std::uint64_t min, std::uint64_t max) {
  return [m, min, max](YamlReader& r, const YAML::Node& n, const std::string& p,
                       CircuitBreakerConfig& c) {
    std::uint64_t v = 0;
    if (!r.Uint(n, p, max, v)) return false;
    if (v < min) {
      r.Error(n, fmt::format("{}: at least {}", p, min));
      return false;
    }
    c.breaker.*m = static_cast<std::uint32_t>(v);
    return true;
  };
}

// A wait from 10ms to `max` (`max_text` says it) into the breaker's `m`.
Reader Wait(std::chrono::milliseconds BreakerConfig::*m, std::chrono::milliseconds max,
            std::string_view max_text) {
  return [m, max, max_text](YamlReader& r, const YAML::Node& n, const std::string& p,
                            CircuitBreakerConfig& c) {
    std::chrono::microseconds d{};
    if (!r.Duration(n, p, d)) return false;
    if (d < std::chrono::milliseconds(10) || d > max) {
      r.Error(n, fmt::format("{}: from 10ms to {}", p, max_text));
      return false;
    }
    c.breaker.*m = std::chrono::duration_cast<std::chrono::milliseconds>(d);
    return true;
  };
}

}  // namespace

const config::Fields<CircuitBreakerConfig>& CircuitBreakerFields() {
  static const config::Fields<CircuitBreakerConfig> f = [] {
    config::Fields<CircuitBreakerConfig> d;
    d.Custom("window", ReadWindow)
        .Custom("minimum_calls", Count(&BreakerConfig::minimum_calls, 1, 100'000))
        .Custom("failure_rate", Percent(&BreakerConfig::failure_rate, 1, 100))
        .Custom("consecutive_failures", Count(&BreakerConfig::consecutive_failures, 0, 100'000))
        .Statuses("failure_statuses", &CircuitBreakerConfig::failure_statuses)
        .Duration("slow_call", &CircuitBreakerConfig::slow_call, std::chrono::microseconds(0),
                  std::chrono::minutes(10))
        .Custom("open_for", Wait(&BreakerConfig::open_for, std::chrono::hours(1), "1h"))
        .Custom("open_for_max", Wait(&BreakerConfig::open_for_max, std::chrono::hours(24), "24h"))
        .Custom("jitter", Percent(&BreakerConfig::jitter, 0, 50))
        .Custom("half_open_calls", Count(&BreakerConfig::half_open_calls, 1, 1000))
        .Bool("per_endpoint", &CircuitBreakerConfig::per_endpoint)
        .Then(
            [](YamlReader& r, const YAML::Node& at, const std::string& p, CircuitBreakerConfig& c) {
              if (c.breaker.open_for_max < c.breaker.open_for) {
                r.Error(at, fmt::format("{}: open_for_max is shorter than open_for", p));
                return false;
              }
              if (c.breaker.window == BreakerConfig::Window::kCalls &&
                  c.breaker.minimum_calls > c.breaker.window_calls) {
                r.Error(at, fmt::format("{}: minimum_calls is more than the window holds", p));
                return false;
              }
              return true;
            });
    return d;
  }();
  return f;
}

CircuitBreakerPolicy::CircuitBreakerPolicy(CircuitBreakerConfig config,
                                           std::vector<std::shared_ptr<Breaker>> breakers,
                                           std::vector<std::string> names, std::string upstream,
                                           Counters counters, std::function<SteadyTime()> clock)
    : config_(std::move(config)),
      breakers_(std::move(breakers)),
      names_(std::move(names)),
      upstream_(std::move(upstream)),
      counters_(counters),
      clock_(std::move(clock)) {}

void CircuitBreakerPolicy::Note(const Transition& t, int worker, std::size_t i) noexcept {
  if (!t.changed) return;
  observe::CounterSeries* c = t.to == State::kOpen       ? counters_.to_open
                              : t.to == State::kHalfOpen ? counters_.to_half_open
                                                         : counters_.to_closed;
  if (c) c->Add(worker);
  std::string_view of;  // the endpoint, per endpoint (a view of names_, never a temporary)
  if (config_.per_endpoint && i < names_.size()) of = names_[i];
  if (t.to == State::kOpen) {
    spdlog::warn("upstream {}{}{}: circuit breaker opened", upstream_,
                 of.empty() ? "" : " endpoint ", of);
  } else {
    spdlog::info("upstream {}{}{}: circuit breaker {}", upstream_, of.empty() ? "" : " endpoint ",
                 of, StateName(t.to));
  }
}

Verdict CircuitBreakerPolicy::Before(const AttemptInfo& a) noexcept {
  Transition t;
  std::uint64_t unused = 0;
  const bool admitted = For(a).Admit(a.NowOr(clock_), t, a.ticket != nullptr ? *a.ticket : unused);
  Note(t, a.worker, a.endpoint);
  if (admitted) return Verdict::kContinue;
  if (counters_.rejected) counters_.rejected->Add(a.worker);
  // Per endpoint: another endpoint may take it (the seam fails it only when none is left).
  return config_.per_endpoint ? Verdict::kRetryOther : Verdict::kRefuse;
}

bool CircuitBreakerPolicy::Failed(const AttemptOutcome& o) const noexcept {
  if (o.error && o.error.upstream()) return true;
  if (config_.slow_call.count() > 0 && o.latency >= config_.slow_call) return true;
  return std::find(config_.failure_statuses.begin(), config_.failure_statuses.end(), o.status) !=
         config_.failure_statuses.end();
}

Verdict CircuitBreakerPolicy::After(const AttemptInfo& a, const AttemptOutcome& o) noexcept {
  const std::uint64_t ticket = a.ticket != nullptr ? *a.ticket : 0;
  // A pooled connection the origin had closed, or a stream it refused: the origin never saw the
  // request (the seam retries it once), so it says nothing about the upstream's health.
  if (o.error.kind == http::ErrorKind::kStale || o.error.kind == http::ErrorKind::kRefusedStream) {
    For(a).Release(ticket);
    return Verdict::kContinue;
  }
  Note(For(a).Record(a.NowOr(clock_), ticket, Failed(o)), a.worker, a.endpoint);
  return Verdict::kContinue;
}

void CircuitBreakerPolicy::Describe(std::string& out) const {
  auto one = [&](const Breaker& b) {
    const auto [calls, failures] = b.Window(clock_());
    fmt::format_to(std::back_inserter(out),
                   ",\"state\":\"{}\",\"window_calls\":{},\"window_failures\":{}",
                   StateName(b.state()), calls, failures);
  };
  if (!config_.per_endpoint) {
    one(*breakers_[0]);
    return;
  }
  out += ",\"per_endpoint\":true,\"endpoints\":[";
  for (std::size_t i = 0; i < breakers_.size(); ++i) {
    out += i ? ",{\"address\":\"" : "{\"address\":\"";
    AppendJsonEscaped(out, names_[i]);
    out += "\"";
    one(*breakers_[i]);
    out += "}";
  }
  out += "]";
}

void CircuitBreakerPolicy::Abandoned(const AttemptInfo& a) noexcept {
  For(a).Release(a.ticket != nullptr ? *a.ticket : 0);
}

std::shared_ptr<Policy> MakeCircuitBreaker(const YAML::Node& settings, PolicyContext& ctx) {
  CircuitBreakerConfig c;
  if (!CircuitBreakerFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  // A real probe reports within the upstream's connect and response timeouts.
  c.breaker.probe_timeout = std::max(
      c.breaker.open_for, std::chrono::duration_cast<std::chrono::milliseconds>(
                              ctx.upstream.connect_timeout + ctx.upstream.response_timeout) +
                              std::chrono::seconds(1));
  const BreakerConfig& b = c.breaker;
  const std::string& name = ctx.upstream.name;
  // The same upstream and numbers find the same breaker after a reload (its state stands).
  // What the window's outcomes mean (failure_statuses, slow_call) is part of it too.
  const std::string identity =
      fmt::format("breaker:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}", name,
                  static_cast<int>(b.window), b.window_calls, b.window_time.count(),
                  b.minimum_calls, b.failure_rate, b.consecutive_failures, b.open_for.count(),
                  b.open_for_max.count(), b.jitter, b.half_open_calls, b.probe_timeout.count(),
                  c.slow_call.count(), fmt::join(c.failure_statuses, ","));
  // (per_endpoint appends the endpoint below: the two modes never share a breaker.)
  // Per endpoint: one breaker for each, found again by endpoint after a reload.
  std::vector<std::string> names;
  if (c.per_endpoint && ctx.spec != nullptr) {
    for (const auto& ep : ctx.spec->endpoints) names.push_back(ep.address_text);
  } else {
    names.push_back("");
  }
  std::vector<std::shared_ptr<Breaker>> breakers;
  for (const std::string& endpoint : names) {
    std::string labels = fmt::format("upstream=\"{}\"", observe::EscapeLabelValue(name));
    if (c.per_endpoint)
      labels += fmt::format(",endpoint=\"{}\"", observe::EscapeLabelValue(endpoint));
    breakers.push_back(ctx.stores.Local<Breaker>(
        c.per_endpoint ? identity + ":endpoint:" + endpoint : identity,
        [&] { return std::make_shared<Breaker>(b, std::random_device{}()); },
        {{"rampart_upstream_circuit_state", "gauge",
          "Circuit breaker state by upstream (and endpoint, per endpoint): 0 closed, 1 open, 2 "
          "half-open."}},
        [labels](std::weak_ptr<Breaker> weak) -> state::Stores::Render {
          return [weak, labels](std::string& out, std::string_view family) {
            auto t = weak.lock();
            if (!t || family != "rampart_upstream_circuit_state") return;
            out += fmt::format("rampart_upstream_circuit_state{{{}}} {}\n", labels,
                               static_cast<int>(t->state()));
          };
        }));
  }
  static constexpr observe::CounterDef<1> kRejected{
      "rampart_upstream_circuit_rejected_total",
      "Requests an open circuit breaker answered without trying the upstream.",
      {"upstream"}};
  static constexpr observe::CounterDef<2> kTransitions{
      "rampart_upstream_circuit_transitions_total",
      "Circuit breaker state changes, by upstream and the state entered.",
      {"upstream", "to"}};
  CircuitBreakerPolicy::Counters counters{ctx.metrics.Counter(kRejected, {name}),
                                          ctx.metrics.Counter(kTransitions, {name, "open"}),
                                          ctx.metrics.Counter(kTransitions, {name, "half_open"}),
                                          ctx.metrics.Counter(kTransitions, {name, "closed"})};
  return std::make_shared<CircuitBreakerPolicy>(std::move(c), std::move(breakers), std::move(names),
                                                name, counters,
                                                [] { return std::chrono::steady_clock::now(); });
}

}  // namespace rampart::upstream::breaker
