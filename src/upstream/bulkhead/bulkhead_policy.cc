#include "upstream/bulkhead/bulkhead_policy.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/strings.h"
#include "state/stores.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::bulkhead {

namespace {

using config::YamlReader;

// The exchange word: which place it holds (bits 0-1), and while it waits, since when (the rest,
// steady-clock ns shifted left by 2).
constexpr std::uint64_t kPlaceMask = 3;
std::uint64_t WaitingSince(std::uint64_t word) noexcept { return word >> 2; }

bool ReadReserve(YamlReader& r, const YAML::Node& n, const std::string& p, BulkheadConfig& c) {
  if (!n.IsMap()) {
    r.Error(n, fmt::format("{}: a mapping of route name to places, e.g. {{payments: 20}}", p));
    return false;
  }
  c.reserve.clear();
  for (const auto& kv : n) {
    Reservation res;
    res.route = kv.first.Scalar();
    std::uint64_t places = 0;
    if (!r.Uint(kv.second, fmt::format("{}.{}", p, res.route), 1'000'000, places)) return false;
    res.places = static_cast<std::uint32_t>(places);
    c.reserve.push_back(std::move(res));
  }
  return true;
}

}  // namespace

const config::Fields<BulkheadConfig>& BulkheadFields() {
  static const config::Fields<BulkheadConfig> f = [] {
    config::Fields<BulkheadConfig> d;
    d.Uint("max_requests", &BulkheadConfig::max_requests, 1, 10'000'000)
        .Uint("max_pending", &BulkheadConfig::max_pending, 0, 10'000)
        .Uint("max_connections", &BulkheadConfig::max_connections, 0, 10'000'000)
        .Duration("queue_timeout", &BulkheadConfig::queue_timeout, std::chrono::milliseconds(1),
                  std::chrono::minutes(1))
        .Custom("reserve", ReadReserve)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, BulkheadConfig& c) {
          std::uint64_t reserved = 0;
          for (const auto& res : c.reserve) reserved += res.places;
          if (reserved >= c.max_requests) {
            r.Error(at, fmt::format("{}: reserve takes {} of max_requests {}: leave some places "
                                    "to the other routes",
                                    p, reserved, c.max_requests));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

Places::Places(const BulkheadConfig& c)
    : reserve_(c.reserve),
      reserved_(std::make_unique<std::atomic<std::int64_t>[]>(c.reserve.size())),
      shared_limit_(c.max_requests),
      max_pending_(c.max_pending) {
  for (const auto& res : reserve_) shared_limit_ -= res.places;
}

bool Places::TakeOne(std::atomic<std::int64_t>& n, std::int64_t limit) noexcept {
  if (n.fetch_add(1, std::memory_order_relaxed) < limit) return true;
  n.fetch_sub(1, std::memory_order_relaxed);
  return false;
}

int Places::Index(std::string_view route) const noexcept {
  for (std::size_t i = 0; i < reserve_.size(); ++i) {
    if (reserve_[i].route == route) return static_cast<int>(i);
  }
  return -1;
}

int Places::Take(std::string_view route) noexcept {
  if (const int i = reserve_.empty() ? -1 : Index(route); i >= 0) {
    if (TakeOne(reserved_[i], reserve_[i].places)) return 2;
  }
  return TakeOne(shared_, shared_limit_) ? 1 : 0;
}

void Places::Give(std::string_view route, int kind) noexcept {
  if (kind == 1) {
    shared_.fetch_sub(1, std::memory_order_relaxed);
  } else if (kind == 2) {
    if (const int i = Index(route); i >= 0) reserved_[i].fetch_sub(1, std::memory_order_relaxed);
  }
}

bool Places::EnterQueue() noexcept { return TakeOne(pending_, max_pending_); }

BulkheadPolicy::BulkheadPolicy(BulkheadConfig config, std::shared_ptr<Places> places,
                               Counters counters, std::function<SteadyTime()> clock)
    : config_(std::move(config)),
      places_(std::move(places)),
      counters_(std::move(counters)),
      clock_(std::move(clock)) {}

void BulkheadPolicy::Rejected(const AttemptInfo& a) noexcept {
  for (auto& [route, series] : counters_.rejected) {
    if (route == a.route) {
      if (series) series->Add(a.worker);
      return;
    }
  }
}

Verdict BulkheadPolicy::Before(const AttemptInfo& a) noexcept {
  if (a.exchange == nullptr) return Verdict::kContinue;
  std::uint64_t& word = *a.exchange;
  if (word & kPlaceMask) return Verdict::kContinue;  // a retry keeps the exchange's place
  const bool waiting = word != 0;
  if (const int kind = places_->Take(a.route); kind != 0) {
    if (waiting) places_->LeaveQueue();
    word = static_cast<std::uint64_t>(kind);
    return Verdict::kContinue;
  }
  const auto now_ns = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(a.NowOr(clock_).time_since_epoch())
          .count());
  if (!waiting) {
    if (config_.max_pending == 0 || !places_->EnterQueue()) {
      Rejected(a);
      return Verdict::kRefuse;
    }
    if (counters_.queued) counters_.queued->Add(a.worker);
    word = now_ns << 2;
  }
  const auto waited = std::chrono::nanoseconds(now_ns - WaitingSince(word));
  if (waited >= config_.queue_timeout) {
    places_->LeaveQueue();
    word = 0;
    Rejected(a);
    return Verdict::kRefuse;
  }
  // Asked again soon: after a quarter of the time waited so far (1 ms to 16 ms), so a long
  // queue does not spin, and never past the queue timeout.
  if (a.delay != nullptr) {
    const auto step = std::clamp<std::chrono::microseconds>(
        std::chrono::duration_cast<std::chrono::microseconds>(waited / 4),
        std::chrono::milliseconds(1), std::chrono::milliseconds(16));
    *a.delay = std::min<std::chrono::microseconds>(
        step,
        std::chrono::duration_cast<std::chrono::microseconds>(config_.queue_timeout - waited));
  }
  return Verdict::kWait;
}

void BulkheadPolicy::Ended(const AttemptInfo& a, const AttemptOutcome&) noexcept {
  if (a.exchange == nullptr || *a.exchange == 0) return;
  const std::uint64_t word = *a.exchange;
  if (word & kPlaceMask) {
    places_->Give(a.route, static_cast<int>(word & kPlaceMask));
  } else {
    places_->LeaveQueue();  // it ended while waiting (the client left)
  }
  *a.exchange = 0;
}

void BulkheadPolicy::Describe(std::string& out) const {
  fmt::format_to(std::back_inserter(out),
                 ",\"max_requests\":{},\"in_flight_shared\":{},\"pending\":{},\"reserved\":[",
                 config_.max_requests, places_->shared_in_flight(), places_->pending());
  for (std::size_t i = 0; i < config_.reserve.size(); ++i) {
    out += i ? ",{\"route\":\"" : "{\"route\":\"";
    AppendJsonEscaped(out, config_.reserve[i].route);
    fmt::format_to(std::back_inserter(out), "\",\"places\":{},\"in_flight\":{}}}",
                   config_.reserve[i].places, places_->reserved_in_flight(i));
  }
  out += "]";
}

std::shared_ptr<Policy> MakeBulkhead(const YAML::Node& settings, PolicyContext& ctx) {
  BulkheadConfig c;
  if (!BulkheadFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  const std::string& name = ctx.upstream.name;
  for (const auto& res : c.reserve) {
    const bool known = std::any_of(ctx.config.routes.begin(), ctx.config.routes.end(),
                                   [&](const auto& r) { return r.name == res.route; });
    if (!known) {
      ctx.reader.Error(settings["reserve"],
                       fmt::format("{}.reserve: no route named '{}'", ctx.where, res.route));
      return nullptr;
    }
  }
  static constexpr observe::CounterDef<2> kRejected{
      "rampart_upstream_bulkhead_rejected_total",
      "Requests a full bulkhead answered 503 upstream_overloaded, by upstream and route.",
      {"upstream", "route"}};
  static constexpr observe::CounterDef<1> kQueued{
      "rampart_upstream_bulkhead_queued_total",
      "Requests that waited in a bulkhead's queue for a place, by upstream.",
      {"upstream"}};
  BulkheadPolicy::Counters counters;
  for (const auto& r : ctx.config.routes)
    counters.rejected.emplace_back(r.name, ctx.metrics.Counter(kRejected, {name, r.name}));
  counters.queued = ctx.metrics.Counter(kQueued, {name});
  // The same upstream and limits find the same places after a reload: exchanges of the old
  // config still hold theirs, and the cap stays the cap.
  std::string identity = fmt::format("bulkhead:{}:{}:{}", name, c.max_requests, c.max_pending);
  for (const auto& res : c.reserve) identity += fmt::format(":{}={}", res.route, res.places);
  auto places = ctx.stores.Local<Places>(identity, [&] { return std::make_shared<Places>(c); });
  if (c.max_connections > 0 && ctx.spec != nullptr) {
    ctx.spec->connection_limit = ctx.stores.Local<ConnectionLimit>(
        fmt::format("connections:{}:{}", name, c.max_connections),
        [&] { return std::make_shared<ConnectionLimit>(c.max_connections); },
        {{"rampart_upstream_connections_in_use", "gauge",
          "HTTP/1.1 connections in use to an upstream with a max_connections bulkhead."}},
        [name](std::weak_ptr<ConnectionLimit> weak) -> state::Stores::Render {
          return [weak, name](std::string& out, std::string_view family) {
            auto t = weak.lock();
            if (!t || family != "rampart_upstream_connections_in_use") return;
            out += fmt::format("rampart_upstream_connections_in_use{{upstream=\"{}\"}} {}\n",
                               observe::EscapeLabelValue(name), t->open.load());
          };
        });
  }
  return std::make_shared<BulkheadPolicy>(std::move(c), std::move(places), std::move(counters),
                                          [] { return std::chrono::steady_clock::now(); });
}

}  // namespace rampart::upstream::bulkhead
