#include "observe/metrics.h"

#include <fmt/format.h>

namespace rampart::observe {
namespace {

std::string LabelEscape(std::string_view s) { return EscapeLabelValue(s); }

constexpr std::array<std::string_view, static_cast<int>(UpstreamError::kCount)>
    kUpstreamErrorNames = {"connect_failure", "timeout", "reset", "bad_response"};

}  // namespace

std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string FormatLabels(std::span<const std::string_view> names,
                         std::span<const std::string_view> values) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < values.size(); ++i) {
    if (i) out += ',';
    out.append(names[i]);
    out += "=\"";
    out += EscapeLabelValue(values[i]);
    out += '"';
  }
  return out;
}

void LocalReplyCounters::Declare(Metrics& metrics, std::string_view token) {
  if (other_ == nullptr) other_ = metrics.Counter(kLocalReplies, {"gate"});
  for (const auto& [t, _] : by_token_) {
    if (t == token) return;
  }
  by_token_.emplace_back(std::string(token), metrics.Counter(kLocalReplies, {token}));
}

void LocalReplyCounters::Count(int worker, std::string_view token) const noexcept {
  for (const auto& [t, series] : by_token_) {
    if (t == token) return series->Add(worker);
  }
  if (other_) other_->Add(worker);
}

RouteStats::RouteStats(std::string name, int slots)
    : name_(std::move(name)), slots_(new RouteSlot[slots]) {}

void RouteStats::Record(int slot, int status, std::uint64_t latency_us) noexcept {
  RouteSlot& s = slots_[slot];
  int cls = status / 100;
  if (cls >= 1 && cls <= 5) s.by_class[cls].Add();
  double seconds = static_cast<double>(latency_us) / 1e6;
  std::size_t b = 0;
  while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
  s.latency[b].Add();
  s.latency_sum_us.Add(latency_us);
}

void RouteStats::RenderCounts(std::string& out, int slots) const {
  std::string route = LabelEscape(name_);
  for (int cls = 1; cls <= 5; ++cls) {
    std::uint64_t n = 0;
    for (int i = 0; i < slots; ++i) n += slots_[i].by_class[cls].Get();
    out += fmt::format("rampart_http_requests_total{{route=\"{}\",status_class=\"{}xx\"}} {}\n",
                       route, cls, n);
  }
}

void RouteStats::RenderHistogram(std::string& out, int slots) const {
  std::string route = LabelEscape(name_);
  std::uint64_t cumulative = 0, sum_us = 0;
  for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
    for (int i = 0; i < slots; ++i) cumulative += slots_[i].latency[b].Get();
    if (b < kLatencyBuckets.size()) {
      out +=
          fmt::format("rampart_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n",
                      route, kLatencyBuckets[b], cumulative);
    } else {
      out += fmt::format(
          "rampart_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {}\n", route,
          cumulative);
    }
  }
  for (int i = 0; i < slots; ++i) sum_us += slots_[i].latency_sum_us.Get();
  out += fmt::format("rampart_http_request_duration_seconds_sum{{route=\"{}\"}} {:.6f}\n", route,
                     static_cast<double>(sum_us) / 1e6);
  out += fmt::format("rampart_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", route,
                     cumulative);
}

UpstreamStats::UpstreamStats(std::string name, int slots)
    : name_(std::move(name)), slots_(new UpstreamSlot[slots]) {}

void UpstreamStats::Render(std::string& out, int slots, int family) const {
  std::string up = LabelEscape(name_);
  auto sum = [&](auto pick) {
    std::uint64_t n = 0;
    for (int i = 0; i < slots; ++i) n += pick(slots_[i]).Get();
    return n;
  };
  switch (family) {
    case 0:
      out += fmt::format("rampart_upstream_requests_total{{upstream=\"{}\"}} {}\n", up,
                         sum([](UpstreamSlot& s) -> Counter& { return s.requests; }));
      break;
    case 1:
      out += fmt::format("rampart_upstream_connections_opened_total{{upstream=\"{}\"}} {}\n", up,
                         sum([](UpstreamSlot& s) -> Counter& { return s.connections_opened; }));
      break;
    case 2:
      out += fmt::format("rampart_upstream_connections_reused_total{{upstream=\"{}\"}} {}\n", up,
                         sum([](UpstreamSlot& s) -> Counter& { return s.connections_reused; }));
      break;
    case 4:
      out += fmt::format("rampart_upstream_drain_cuts_total{{upstream=\"{}\"}} {}\n", up,
                         sum([](UpstreamSlot& s) -> Counter& { return s.drain_cuts; }));
      break;
    default:
      for (std::size_t e = 0; e < kUpstreamErrorNames.size(); ++e) {
        out += fmt::format("rampart_upstream_errors_total{{upstream=\"{}\",kind=\"{}\"}} {}\n", up,
                           kUpstreamErrorNames[e],
                           sum([e](UpstreamSlot& s) -> Counter& { return s.errors[e]; }));
      }
  }
}

std::string_view ReasonToken(LocalReason r) noexcept {
  switch (r) {
    case LocalReason::kBadRequest:
      return "bad_request";
    case LocalReason::kUriTooLong:
      return "uri_too_long";
    case LocalReason::kHeadersTooLarge:
      return "headers_too_large";
    case LocalReason::kBodyTooLarge:
      return "body_too_large";
    case LocalReason::kRequestTimeout:
      return "request_timeout";
    case LocalReason::kNoRoute:
      return "no_route";
    case LocalReason::kUpstreamUnavailable:
      return "upstream_unavailable";
    case LocalReason::kUpstreamTimeout:
      return "upstream_timeout";
    case LocalReason::kUpstreamBadResponse:
      return "upstream_bad_response";
    case LocalReason::kUpstreamCircuitOpen:
      return "upstream_circuit_open";
    case LocalReason::kUpstreamOverloaded:
      return "upstream_overloaded";
    case LocalReason::kRangeNotSatisfiable:
      return "range_not_satisfiable";
    case LocalReason::kCount:
      break;
  }
  return "unknown";
}

int ReasonStatus(LocalReason r) noexcept {
  switch (r) {
    case LocalReason::kBadRequest:
      return 400;
    case LocalReason::kUriTooLong:
      return 414;
    case LocalReason::kHeadersTooLarge:
      return 431;
    case LocalReason::kBodyTooLarge:
      return 413;
    case LocalReason::kRequestTimeout:
      return 408;
    case LocalReason::kNoRoute:
      return 404;
    case LocalReason::kUpstreamUnavailable:
      return 502;
    case LocalReason::kUpstreamTimeout:
      return 504;
    case LocalReason::kUpstreamBadResponse:
      return 502;
    case LocalReason::kUpstreamCircuitOpen:
    case LocalReason::kUpstreamOverloaded:
      return 503;
    case LocalReason::kRangeNotSatisfiable:
      return 416;
    default:
      return 500;
  }
}

Metrics::Metrics(int workers) : slots_(workers), workers_(new WorkerSlot[workers]) {}

RouteStats* Metrics::Route(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& p = routes_[name];
  if (!p) p = std::make_unique<RouteStats>(name, slots_);
  return p.get();
}

UpstreamStats* Metrics::Upstream(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& p = upstreams_[name];
  if (!p) p = std::make_unique<UpstreamStats>(name, slots_);
  return p.get();
}

std::uint64_t CounterSeries::Sum(int slots) const noexcept {
  std::uint64_t n = 0;
  for (int i = 0; i < slots; ++i) n += slots_[i].c.Get();
  return n;
}

CounterSeries* Metrics::Series(std::string_view family, std::string_view help, std::string labels) {
  std::lock_guard lock(mu_);
  auto f = families_.find(family);
  if (f == families_.end()) f = families_.emplace(std::string(family), Family{}).first;
  if (f->second.help.empty()) f->second.help = help;
  auto s = f->second.series.find(labels);
  if (s == f->second.series.end()) {
    s = f->second.series.emplace(std::move(labels), std::make_unique<CounterSeries>(slots_)).first;
  }
  return s->second.get();
}

void Metrics::AddCollector(std::function<void(std::string&)> collect) {
  std::lock_guard lock(mu_);
  collectors_.push_back(std::move(collect));
}

std::string Metrics::RenderPrometheus(std::uint64_t access_log_dropped) const {
  std::string out;
  out.reserve(16 * 1024);
  std::lock_guard lock(mu_);
  out += "# HELP rampart_http_requests_total Requests answered, by route and status class.\n";
  out += "# TYPE rampart_http_requests_total counter\n";
  for (const auto& [_, r] : routes_) r->RenderCounts(out, slots_);
  out += "# HELP rampart_http_request_duration_seconds Time from request head to response end.\n";
  out += "# TYPE rampart_http_request_duration_seconds histogram\n";
  for (const auto& [_, r] : routes_) r->RenderHistogram(out, slots_);
  constexpr std::array<std::string_view, 5> kUpstreamFamilies = {
      "rampart_upstream_requests_total", "rampart_upstream_connections_opened_total",
      "rampart_upstream_connections_reused_total", "rampart_upstream_errors_total",
      "rampart_upstream_drain_cuts_total"};
  for (int f = 0; f < 5; ++f) {
    out += fmt::format("# TYPE {} counter\n", kUpstreamFamilies[f]);
    for (const auto& [_, u] : upstreams_) u->Render(out, slots_, f);
  }
  std::uint64_t accepted = 0, requests = 0;
  std::int64_t active = 0;
  for (int i = 0; i < slots_; ++i) {
    accepted += workers_[i].connections_accepted.Get();
    active += workers_[i].connections_active.load(std::memory_order_relaxed);
    requests += workers_[i].requests.Get();
  }
  out += "# TYPE rampart_downstream_connections_active gauge\n";
  out += fmt::format("rampart_downstream_connections_active {}\n", active);
  out += "# TYPE rampart_downstream_connections_total counter\n";
  out += fmt::format("rampart_downstream_connections_total {}\n", accepted);
  out += "# TYPE rampart_downstream_requests_total counter\n";
  out += fmt::format("rampart_downstream_requests_total {}\n", requests);
  out += "# TYPE rampart_config_reloads_total counter\n";
  out += fmt::format("rampart_config_reloads_total{{result=\"ok\"}} {}\n", reloads_ok_.load());
  out +=
      fmt::format("rampart_config_reloads_total{{result=\"error\"}} {}\n", reloads_failed_.load());
  out += "# TYPE rampart_access_log_dropped_total counter\n";
  out += fmt::format("rampart_access_log_dropped_total {}\n", access_log_dropped);
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, f.help, name);
    for (const auto& [labels, series] : f.series) {
      out += fmt::format("{}{{{}}} {}\n", name, labels, series->Sum(slots_));
    }
  }
  for (const auto& collect : collectors_) collect(out);
  return out;
}

}  // namespace rampart::observe
