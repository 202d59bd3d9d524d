#include "gates/rate_limit/rate_limit_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <random>

#include "gates/rate_limit/key.h"
#include "gates/rate_limit/redis_script.h"
#include "state/stores.h"

namespace rampart::rate_limit {
namespace asio = boost::asio;

namespace {

constexpr std::string_view kReason = "rate_limited";
constexpr std::string_view kAmbiguous = "ambiguous_key";
constexpr std::string_view kReasons[] = {kReason, kAmbiguous};

constexpr observe::CounterDef<3> kRequests{"rampart_rate_limit_requests_total",
                                           "Rate-limit decisions, by route, limit and decision.",
                                           {"route", "limit", "decision"}};
constexpr observe::CounterDef<2> kFallbacks{
    "rampart_rate_limit_store_fallbacks_total",
    "Decisions made by on_store_failure because the shared store was unavailable.",
    {"route", "limit"}};

std::int64_t CeilSeconds(std::int64_t us) { return us <= 0 ? 0 : (us + 999'999) / 1'000'000; }

double UnitRandom() {
  thread_local std::minstd_rand rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(-1.0, 1.0)(rng);
}

}  // namespace

std::int64_t SystemWallMicros() noexcept {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::span<const std::string_view> RateLimitGate::Reasons() const noexcept { return kReasons; }

RateLimitGate::RateLimitGate(RateLimitConfig config, std::vector<LimitState> limits,
                             std::shared_ptr<state::redis::Pool> redis, WallClock clock)
    : config_(std::move(config)),
      limits_(std::move(limits)),
      redis_(std::move(redis)),
      clock_(clock) {
  is_async_ = redis_ != nullptr;
  for (const auto& l : config_.limits) {
    if (l.policy.algorithm == Algorithm::kLeakyBucket && l.policy.leaky_mode == LeakyMode::kShape)
      is_async_ = true;
  }
}

const LimitConfig* RateLimitGate::Prepare(const Exchange& ex, AppliedList& out) const {
  out.clear();
  thread_local std::string key;
  std::string_view tier;
  for (std::size_t i = 0; i < config_.limits.size(); ++i) {
    const LimitConfig& l = config_.limits[i];
    if (!l.tiers.empty()) {
      if (tier.empty()) tier = ex.identity.Attribute(config_.tier_attribute);
      if (tier.empty()) tier = config_.default_tier;
      if (std::find(l.tiers.begin(), l.tiers.end(), tier) == l.tiers.end()) continue;
    }
    const KeyResult built = BuildKey(l, ex, key);
    if (built == KeyResult::kAmbiguous) {
      limits_[i].ambiguous->Add(ex.worker);
      if (config_.shadow) continue;  // shadow limits refuse nothing: counted, the limit skipped
      out.clear();
      return &l;
    }
    if (built == KeyResult::kMissing && l.skip_when_missing) {
      limits_[i].skipped->Add(ex.worker);
      continue;
    }
    Applied a;
    a.limit = i;
    a.key = std::hash<std::string_view>{}(key);
    if (config_.window_jitter > 0 && (l.policy.algorithm == Algorithm::kFixedWindow ||
                                      l.policy.algorithm == Algorithm::kSlidingWindowCounter)) {
      const auto span = static_cast<std::uint64_t>(static_cast<double>(l.policy.period_us) *
                                                   config_.window_jitter);
      if (span > 0) a.window_offset_us = static_cast<std::int64_t>((a.key >> 7) % span);
    }
    out.push_back(a);
  }
  return nullptr;
}

Decision RateLimitGate::RefuseAmbiguous(Exchange& ex, const LimitConfig& l) const {
  // Two values for one key part: counting either lets the other through to an origin that
  // reads it (a second X-Api-Key, user=x&user=bob), so the request is refused, as the
  // authentication gates refuse a second credential.
  ex.notes.push_back({Name(), kAmbiguous, l.name});
  return Decision::Respond(400, kAmbiguous,
                           fmt::format("rate limit '{}': its key is given twice with different "
                                       "values",
                                       l.name));
}

Outcome RateLimitGate::Fallback(Applied& a, std::int64_t now, int worker) const {
  const LimitState& st = limits_[a.limit];
  st.fallback->Add(worker);
  switch (config_.on_store_failure) {
    case OnStoreFailure::kLocal:
      a.source = Applied::Source::kLocal;
      return st.local->Acquire(a.key, now, a.window_offset_us);
    case OnStoreFailure::kAllow: {
      a.source = Applied::Source::kNone;
      Outcome o;
      o.allowed = true;
      o.remaining = config_.limits[a.limit].policy.limit;
      return o;
    }
    case OnStoreFailure::kDeny:
      break;
  }
  a.source = Applied::Source::kNone;
  Outcome o;
  o.retry_after_us = 1'000'000;
  return o;
}

Decision RateLimitGate::OnRequestHeaders(Exchange& ex) noexcept {
  thread_local AppliedList applied;
  if (const LimitConfig* l = Prepare(ex, applied)) return RefuseAmbiguous(ex, *l);
  if (applied.empty()) return Decision::Continue();
  const std::int64_t now = clock_();
  std::size_t refused = applied.size();
  for (std::size_t i = 0; i < applied.size(); ++i) {
    Applied& a = applied[i];
    a.source = Applied::Source::kLocal;
    a.outcome = limits_[a.limit].local->Acquire(a.key, now, a.window_offset_us);
    if (!a.outcome.allowed) {
      refused = i;
      for (std::size_t j = 0; j < i; ++j) {  // a refused request consumes from no limit
        limits_[applied[j].limit].local->Refund(applied[j].key, now, applied[j].window_offset_us);
      }
      break;
    }
  }
  return Conclude(ex, applied, refused);
}

std::string RateLimitGate::RedisKey(const Applied& a) const {
  // One hash-tagged key per decision, so the script also runs on Redis Cluster.
  return fmt::format("rampart:rl:{{{}:{:016x}}}", config_.limits[a.limit].name, a.key);
}

asio::awaitable<bool> RateLimitGate::RedisCall(state::redis::Client& client, const Applied& a,
                                               std::string_view op, Outcome& out) const {
  const Policy& p = config_.limits[a.limit].policy;
  const std::string key = RedisKey(a);
  const std::string nums[] = {
      std::to_string(p.limit),           std::to_string(p.period_us),
      std::to_string(p.burst),           p.leaky_mode == LeakyMode::kShape ? "1" : "0",
      std::to_string(p.max_delay_us),    "1",
      std::to_string(a.window_offset_us)};
  std::vector<std::string_view> argv = {"EVALSHA", RedisScriptSha(),          "1", key,
                                        op,        AlgorithmName(p.algorithm)};
  for (const auto& n : nums) argv.push_back(n);
  boost::system::error_code ec;
  state::redis::Reply r = co_await client.Call(argv, ec);
  if (!ec && r.is_error() && r.str.starts_with("NOSCRIPT")) {
    argv[0] = "EVAL";  // loads the script for the next EVALSHA
    argv[1] = RedisScript();
    r = co_await client.Call(argv, ec);
  }
  if (ec || r.type != state::redis::Reply::Type::kArray || r.elements.size() != 5) {
    if (!ec && r.is_error()) spdlog::error("rate_limit: redis script failed: {}", r.str);
    co_return false;
  }
  out.allowed = r.elements[0].integer == 1;
  out.remaining = r.elements[1].integer;
  out.reset_us = r.elements[2].integer;
  out.retry_after_us = r.elements[3].integer;
  out.delay_us = r.elements[4].integer;
  co_return true;
}

asio::awaitable<Decision> RateLimitGate::OnRequestHeadersAsync(Exchange& ex) noexcept {
  AppliedList applied;  // lives in the frame: other requests run while this one waits
  if (const LimitConfig* l = Prepare(ex, applied)) co_return RefuseAmbiguous(ex, *l);
  if (applied.empty()) co_return Decision::Continue();
  auto executor = co_await asio::this_coro::executor;
  state::redis::Client* client = redis_ ? &redis_->For(ex.worker, executor) : nullptr;
  // A worker's first request waits for its client's first connection (bounded by the timeout)
  // instead of deciding locally while the client is merely starting.
  if (client != nullptr && !client->up() && client->starting())
    co_await client->AwaitFirstAttempt();
  const std::int64_t now = clock_();
  std::size_t refused = applied.size();
  for (std::size_t i = 0; i < applied.size(); ++i) {
    Applied& a = applied[i];
    bool decided = false;
    if (client != nullptr && client->up()) {
      decided = co_await RedisCall(*client, a, "acquire", a.outcome);
      if (decided) a.source = Applied::Source::kRedis;
    }
    if (!decided) {
      if (client != nullptr) {
        a.outcome = Fallback(a, now, ex.worker);
      } else {
        a.source = Applied::Source::kLocal;
        a.outcome = limits_[a.limit].local->Acquire(a.key, now, a.window_offset_us);
      }
    }
    if (!a.outcome.allowed) {
      refused = i;
      break;
    }
  }
  // A refused request consumes from no limit: give back what the earlier ones took.
  for (std::size_t j = 0; j < refused && refused < applied.size(); ++j) {
    Applied& a = applied[j];
    if (a.source == Applied::Source::kLocal) {
      limits_[a.limit].local->Refund(a.key, now, a.window_offset_us);
    } else if (a.source == Applied::Source::kRedis && client->up()) {
      Outcome ignored;
      co_await RedisCall(*client, a, "refund", ignored);
    }
  }
  Decision d = Conclude(ex, applied, refused);
  if (d.is_continue() && refused == applied.size()) {
    std::int64_t delay = 0;
    for (const auto& a : applied) delay = std::max(delay, a.outcome.delay_us);
    if (delay > 0) {  // a shaping leaky bucket: release the request at the constant rate
      asio::steady_timer timer(executor);
      timer.expires_after(std::chrono::microseconds(delay));
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  co_return d;
}

Decision RateLimitGate::Conclude(Exchange& ex, AppliedList& applied, std::size_t refused) const {
  const bool is_refused = refused < applied.size();
  for (std::size_t i = 0; i < applied.size() && i <= refused; ++i) {
    const LimitState& st = limits_[applied[i].limit];
    if (i < refused) {
      st.allowed->Add(ex.worker);
    } else {
      (config_.shadow ? st.shadow_refused : st.refused)->Add(ex.worker);
    }
  }
  const bool want_headers =
      config_.headers == HeaderMode::kAlways ||
      (config_.headers == HeaderMode::kRefused && is_refused && !config_.shadow);
  std::string headers;
  std::int64_t retry_s = 0;
  if (is_refused) {
    const Outcome& o = applied[refused].outcome;
    double retry = static_cast<double>(o.retry_after_us);
    if (config_.retry_after_jitter > 0) retry *= 1 + config_.retry_after_jitter * UnitRandom();
    retry_s = std::max<std::int64_t>(1, CeilSeconds(static_cast<std::int64_t>(retry)));
  }
  if (want_headers) {
    // draft-ietf-httpapi-ratelimit-headers: the policies, then each one's remaining quota and
    // seconds until it is restored (for the refusing limit: until a request would pass).
    headers.append("RateLimit-Policy: ");
    std::string state = "RateLimit: ";
    // On a refusal only the limits that were checked are reported.
    const std::size_t shown = is_refused ? refused + 1 : applied.size();
    for (std::size_t i = 0; i < shown; ++i) {
      const LimitConfig& l = config_.limits[applied[i].limit];
      const Outcome& o = applied[i].outcome;
      if (i) headers.append(", "), state.append(", ");
      headers.append(l.policy_item);
      const std::int64_t t = i == refused ? retry_s : CeilSeconds(o.reset_us);
      fmt::format_to(std::back_inserter(state), "\"{}\";r={};t={}", l.name,
                     i == refused ? 0 : o.remaining, t);
    }
    headers.append("\r\n");
    headers.append(state);
    headers.append("\r\n");
  }
  if (!is_refused) {
    if (want_headers) ex.response_headers.append(headers);
    return Decision::Continue();
  }
  const LimitConfig& l = config_.limits[applied[refused].limit];
  if (config_.shadow) {
    ex.notes.push_back({Name(), "shadow:rate_limited", l.name});
    return Decision::Continue();
  }
  ex.notes.push_back({Name(), kReason, l.name});
  headers.insert(0, fmt::format("Retry-After: {}\r\n", retry_s));
  return Decision::Respond(429, kReason,
                           fmt::format("rate limit '{}' exceeded; retry in {}s", l.name, retry_s),
                           std::move(headers));
}

std::unique_ptr<Gate> MakeRateLimitGate(const YAML::Node& settings, GateContext& ctx) {
  const auto& state_cfg = ctx.config.state;
  auto cfg = ReadRateLimitConfig(settings, ctx.reader, ctx.where, ctx.route.name,
                                 state_cfg.redis.has_value());
  if (!cfg) return nullptr;
  std::vector<RateLimitGate::LimitState> limits;
  const std::string route = ctx.route.name;
  for (const auto& l : cfg->limits) {
    const Policy& p = l.policy;
    const std::string identity = fmt::format(
        "rate_limit|{}|{}|{}|{}|{}|{}|{}|{}|{}", route, l.name, AlgorithmName(p.algorithm), p.limit,
        p.period_us, p.burst, static_cast<int>(p.leaky_mode), p.max_delay_us, state_cfg.max_keys);
    const std::array<std::string_view, 2> names = {"route", "limit"};
    const std::array<std::string_view, 2> values = {route, l.name};
    const std::string labels = observe::FormatLabels(names, values);
    auto local = ctx.stores.Local<LocalLimit>(
        identity, [&] { return std::make_shared<LocalLimit>(p, state_cfg.max_keys); },
        {{"rampart_rate_limit_keys", "gauge", "Keys held in process, by limit."},
         {"rampart_rate_limit_evictions_total", "counter",
          "Live keys dropped because a limit reached state.max_keys."}},
        [labels](std::weak_ptr<LocalLimit> weak) -> state::Stores::Render {
          return [weak, labels](std::string& out, std::string_view family) {
            auto t = weak.lock();
            if (!t) return;
            if (family == "rampart_rate_limit_keys") {
              out += fmt::format("rampart_rate_limit_keys{{{}}} {}\n", labels, t->keys());
            } else if (family == "rampart_rate_limit_evictions_total") {
              out += fmt::format("rampart_rate_limit_evictions_total{{{}}} {}\n", labels,
                                 t->evictions());
            }
          };
        });
    RateLimitGate::LimitState st;
    st.local = std::move(local);
    auto series = [&](std::string_view decision) {
      return ctx.metrics.Counter(kRequests, {route, l.name, decision});
    };
    st.allowed = series("allowed");
    st.refused = series("refused");
    st.shadow_refused = series("shadow_refused");
    st.skipped = series("skipped");
    st.ambiguous = series("ambiguous");
    st.fallback = ctx.metrics.Counter(kFallbacks, {route, l.name});
    limits.push_back(std::move(st));
  }
  std::shared_ptr<state::redis::Pool> redis;
  if (cfg->store == StoreKind::kRedis) {
    redis = ctx.stores.Redis(state::RedisOptionsFrom(*state_cfg.redis));
  }
  return std::make_unique<RateLimitGate>(std::move(*cfg), std::move(limits), std::move(redis));
}

}  // namespace rampart::rate_limit
