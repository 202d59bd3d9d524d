#include "upstream/retries/retry_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "state/stores.h"

namespace rampart::upstream::retries {

namespace {

using config::YamlReader;
using http::ErrorKind;

bool ReadRetryOn(YamlReader& r, const YAML::Node& n, const std::string& p, RetryConfig& c) {
  std::vector<std::string> words;
  if (!r.StringList(n, p, words)) return false;
  c.retry_on = 0;
  for (const auto& w : words) {
    if (w == "connect_failure") {
      c.retry_on |= kConnectFailure;
    } else if (w == "refused_stream") {
      c.retry_on |= kRefusedStream;
    } else if (w == "reset") {
      c.retry_on |= kReset;
    } else if (w == "timeout") {
      c.retry_on |= kTimeout;
    } else {
      r.Error(n, fmt::format("{}: '{}' is not connect_failure, refused_stream, reset or timeout", p,
                             w));
      return false;
    }
  }
  return true;
}

constexpr std::string_view kDeclinedNames[] = {"",         "unsafe",   "not_held",
                                               "attempts", "deadline", "budget"};

}  // namespace

const config::Fields<RetryConfig>& RetryFields() {
  static const config::Fields<RetryConfig> f = [] {
    config::Fields<RetryConfig> d;
    d.Uint("attempts", &RetryConfig::attempts, 1, 5)
        .Custom("retry_on", ReadRetryOn)
        .Statuses("statuses", &RetryConfig::statuses)
        .Duration("backoff_base", &RetryConfig::backoff_base, std::chrono::milliseconds(1),
                  std::chrono::seconds(10))
        .Duration("backoff_max", &RetryConfig::backoff_max, std::chrono::milliseconds(1),
                  std::chrono::seconds(30))
        .Percent("budget_percent", &RetryConfig::budget_percent, 0, 100)
        .Uint("budget_min", &RetryConfig::budget_min, 0, 100'000)
        .Duration("deadline", &RetryConfig::deadline, std::chrono::microseconds(0),
                  std::chrono::hours(1))
        .Bool("other_endpoint", &RetryConfig::other_endpoint)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, RetryConfig& c) {
          if (c.backoff_max < c.backoff_base) {
            r.Error(at, fmt::format("{}: backoff_max is shorter than backoff_base", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

std::chrono::microseconds FullJitter(int retry, std::chrono::microseconds base,
                                     std::chrono::microseconds max, double u) noexcept {
  const int shift = std::clamp(retry - 1, 0, 30);
  const double ceiling = std::min(static_cast<double>(max.count()),
                                  std::ldexp(static_cast<double>(base.count()), shift));
  const double wait = std::clamp(u, 0.0, 1.0) * ceiling;
  return std::chrono::microseconds(static_cast<std::int64_t>(wait));
}

RetryPolicy::RetryPolicy(RetryConfig config, std::shared_ptr<RetryBudget> budget, Counters counters,
                         std::function<double()> uniform, std::function<SteadyTime()> clock)
    : config_(std::move(config)),
      budget_(std::move(budget)),
      counters_(counters),
      uniform_(std::move(uniform)),
      clock_(std::move(clock)) {}

Verdict RetryPolicy::Before(const AttemptInfo& a) noexcept {
  if (a.attempt == 0) budget_->Deposit();  // each exchange deposits once, at its first attempt
  return Verdict::kContinue;
}

bool RetryPolicy::Retryable(const AttemptOutcome& o) const noexcept {
  if (!o.error) {
    return std::find(config_.statuses.begin(), config_.statuses.end(), o.status) !=
           config_.statuses.end();
  }
  switch (o.error.kind) {
    case ErrorKind::kConnectRefused:
    case ErrorKind::kConnectTimeout:
    case ErrorKind::kTls:
      return (config_.retry_on & kConnectFailure) != 0;
    case ErrorKind::kRefusedStream:
      return (config_.retry_on & kRefusedStream) != 0;
    case ErrorKind::kStale:  // a second stale connection: the built-in retry is spent
    case ErrorKind::kReset:
      return (config_.retry_on & kReset) != 0;
    case ErrorKind::kTimeout:
      return (config_.retry_on & kTimeout) != 0;
    default:
      return false;
  }
}

Declined RetryPolicy::Check(const AttemptInfo& a, const AttemptOutcome& o) const noexcept {
  // Sending it again must not act twice: an idempotent or gate-made-safe request, or one none of
  // whose bytes left (the origin cannot have seen it).
  if (!a.retry_safe && (o.request_sent || !o.error.retry_safe)) return Declined::kUnsafe;
  if (!a.replayable) return Declined::kNotHeld;
  if (static_cast<std::uint32_t>(a.attempt) + 1 >= config_.attempts) return Declined::kAttempts;
  return Declined::kNone;
}

Verdict RetryPolicy::After(const AttemptInfo& a, const AttemptOutcome& o) noexcept {
  if (!Retryable(o)) return Verdict::kContinue;
  Declined why = Check(a, o);
  std::chrono::microseconds wait{};
  if (why == Declined::kNone) {
    wait = FullJitter(a.attempt + 1, config_.backoff_base, config_.backoff_max, uniform_());
    if (config_.deadline.count() > 0 && a.elapsed + wait >= config_.deadline)
      why = Declined::kDeadline;
  }
  if (why == Declined::kNone && !budget_->TryWithdraw(a.NowOr(clock_))) why = Declined::kBudget;
  if (why != Declined::kNone) {
    if (auto* c = counters_.declined[static_cast<std::size_t>(why)]) c->Add(a.worker);
    return Verdict::kContinue;
  }
  if (counters_.retried) counters_.retried->Add(a.worker);
  if (a.delay != nullptr) *a.delay = std::max(*a.delay, wait);
  return config_.other_endpoint ? Verdict::kRetryOther : Verdict::kRetrySame;
}

void RetryPolicy::Describe(std::string& out) const {
  fmt::format_to(std::back_inserter(out),
                 ",\"attempts\":{},\"budget_tokens\":{:.1f},\"budget_capacity\":{:.0f}",
                 config_.attempts, budget_->tokens(), budget_->capacity());
}

std::shared_ptr<Policy> MakeRetries(const YAML::Node& settings, PolicyContext& ctx) {
  RetryConfig c;
  if (!RetryFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  const std::string& name = ctx.upstream.name;
  static constexpr observe::CounterDef<1> kRetried{
      "rampart_upstream_retries_total",
      "Attempts made again by the retries policy, by upstream.",
      {"upstream"}};
  static constexpr observe::CounterDef<2> kDeclined{
      "rampart_upstream_retries_declined_total",
      "Retryable failures not retried, by upstream and why (unsafe, not_held, attempts, "
      "deadline, budget).",
      {"upstream", "reason"}};
  RetryPolicy::Counters counters;
  counters.retried = ctx.metrics.Counter(kRetried, {name});
  for (std::size_t i = 1; i < std::size(kDeclinedNames); ++i)
    counters.declined[i] = ctx.metrics.Counter(kDeclined, {name, kDeclinedNames[i]});
  // The same upstream and numbers keep their balance through a reload.
  auto budget = ctx.stores.Local<RetryBudget>(
      fmt::format("retry_budget:{}:{}:{}", name, c.budget_percent, c.budget_min),
      [&] { return std::make_shared<RetryBudget>(c.budget_percent, c.budget_min); });
  return std::make_shared<RetryPolicy>(
      std::move(c), std::move(budget), counters,
      [] {
        thread_local std::mt19937_64 rng{std::random_device{}()};
        return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      },
      [] { return std::chrono::steady_clock::now(); });
}

}  // namespace rampart::upstream::retries
