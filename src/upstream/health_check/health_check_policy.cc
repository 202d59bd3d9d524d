#include "upstream/health_check/health_check_policy.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "state/stores.h"
#include "upstream/http_client.h"

namespace rampart::upstream::health {

namespace asio = boost::asio;
using config::YamlReader;

namespace {

std::atomic<std::uint64_t> g_next_prober{1};

bool ReadMethod(YamlReader& r, const YAML::Node& n, const std::string& p, HealthCheckConfig& c) {
  if (!r.String(n, p, c.method)) return false;
  const bool upper =
      std::all_of(c.method.begin(), c.method.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
  if (c.method.empty() || c.method.size() > 16 || !upper) {
    r.Error(n,
            fmt::format("{}: '{}' is not an HTTP method (GET, HEAD, OPTIONS, ...)", p, c.method));
    return false;
  }
  return true;
}

bool ReadPath(YamlReader& r, const YAML::Node& n, const std::string& p, HealthCheckConfig& c) {
  if (!r.String(n, p, c.path)) return false;
  const bool printable = std::all_of(c.path.begin(), c.path.end(), [](char ch) {
    return static_cast<unsigned char>(ch) > 0x20 && static_cast<unsigned char>(ch) < 0x7f;
  });
  if (!c.path.starts_with('/') || !printable) {
    r.Error(n, fmt::format("{}: an origin-form path starting with '/', without spaces", p));
    return false;
  }
  return true;
}

bool ReadHost(YamlReader& r, const YAML::Node& n, const std::string& p, HealthCheckConfig& c) {
  if (!r.String(n, p, c.host)) return false;
  const bool ok = !c.host.empty() && std::all_of(c.host.begin(), c.host.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
           ch == '[' || ch == ']' || ch == '_';
  });
  if (!ok) {
    r.Error(n, fmt::format("{}: '{}' is not a host[:port]", p, c.host));
    return false;
  }
  return true;
}

}  // namespace

const config::Fields<HealthCheckConfig>& HealthCheckFields() {
  static const config::Fields<HealthCheckConfig> f = [] {
    config::Fields<HealthCheckConfig> d;
    d.Choice("type", &HealthCheckConfig::type,
             {{"http", HealthCheckConfig::Type::kHttp}, {"tcp", HealthCheckConfig::Type::kTcp}})
        .Custom("method", ReadMethod)
        .Custom("path", ReadPath)
        .Custom("host", ReadHost)
        .Statuses("expect_status", &HealthCheckConfig::expect_status)
        .String("expect_body", &HealthCheckConfig::expect_body)
        .Duration("interval", &HealthCheckConfig::interval, std::chrono::milliseconds(100),
                  std::chrono::hours(1))
        .Percent("jitter", &HealthCheckConfig::jitter, 0, 50)
        .Duration("timeout", &HealthCheckConfig::timeout, std::chrono::milliseconds(10),
                  std::chrono::minutes(5))
        .Uint("unhealthy_threshold", &HealthCheckConfig::unhealthy_threshold, 1, 1000)
        .Uint("healthy_threshold", &HealthCheckConfig::healthy_threshold, 1, 1000)
        .Bool("start_healthy", &HealthCheckConfig::start_healthy)
        .Then([](YamlReader& r, const YAML::Node& at, const std::string& p, HealthCheckConfig& c) {
          if (c.timeout > c.interval) {
            r.Error(at, fmt::format("{}: timeout is longer than interval", p));
            return false;
          }
          return true;
        });
    return d;
  }();
  return f;
}

int Apply(EndpointState& e, bool passed, const HealthCheckConfig& c) noexcept {
  if (passed) {
    e.check_failures.store(0, std::memory_order_relaxed);
    const std::uint32_t n = e.check_successes.fetch_add(1, std::memory_order_relaxed) + 1;
    if (e.unhealthy.load(std::memory_order_relaxed) && n >= c.healthy_threshold) {
      e.unhealthy.store(false, std::memory_order_relaxed);
      return 1;
    }
    return 0;
  }
  e.check_successes.store(0, std::memory_order_relaxed);
  const std::uint32_t n = e.check_failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (!e.unhealthy.load(std::memory_order_relaxed) && n >= c.unhealthy_threshold) {
    e.unhealthy.store(true, std::memory_order_relaxed);
    return -1;
  }
  return 0;
}

bool Passes(const HealthCheckConfig& c, int status, std::string_view body) noexcept {
  const bool status_ok = c.expect_status.empty()
                             ? status >= 200 && status < 400
                             : std::find(c.expect_status.begin(), c.expect_status.end(), status) !=
                                   c.expect_status.end();
  return status_ok && (c.expect_body.empty() || body.find(c.expect_body) != std::string_view::npos);
}

Prober::Prober(HealthCheckConfig config, UpstreamSpec spec, std::vector<std::string> hosts,
               Services services, std::shared_ptr<Counters> counters)
    : config_(std::move(config)),
      spec_(std::move(spec)),
      hosts_(std::move(hosts)),
      services_(services),
      counters_(std::move(counters)),
      id_(g_next_prober.fetch_add(1)) {}

void Prober::Start() {
  if (services_.client == nullptr) return;
  for (std::size_t i = 0; i < spec_.endpoints.size(); ++i)
    asio::co_spawn(services_.control, Run(weak_from_this(), i), asio::detached);
}

std::chrono::microseconds Prober::Wait() noexcept {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const double spread =
      std::uniform_real_distribution<double>(-config_.jitter, config_.jitter)(rng);
  return std::chrono::microseconds(
      static_cast<std::int64_t>(static_cast<double>(config_.interval.count()) * (1.0 + spread)));
}

asio::awaitable<bool> Prober::Check(std::size_t i) {
  ClientRequest req;
  req.method = config_.method;
  req.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config_.timeout);
  req.max_response_bytes = 64 * 1024;
  req.headers.emplace_back("User-Agent", "rampart-health-check");
  const bool tcp = config_.type == HealthCheckConfig::Type::kTcp;
  ClientResponse r = co_await services_.client->FetchFrom(
      spec_, i, std::move(req), config_.path, config_.host.empty() ? hosts_[i] : config_.host, tcp);
  if (!r.ok()) {
    spdlog::debug("upstream {}: health check of {} failed: {}", spec_.name,
                  spec_.endpoints[i].address_text, r.error_text);
    co_return false;
  }
  co_return Passes(config_, r.status, r.body);
}

asio::awaitable<void> Prober::Run(std::weak_ptr<Prober> weak, std::size_t i) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  // Not before the config that built this prober is in service: a reload that fails after
  // building it (a later error, a port that cannot be bound) drops it before this runs, and the
  // serving config's prober keeps the endpoints.
  co_await asio::post(executor, asio::use_awaitable);
  bool first = true;
  std::uint64_t id = 0;
  for (;;) {
    std::chrono::microseconds wait{};
    {
      auto self = weak.lock();
      if (!self) co_return;  // its config is gone
      EndpointState& e = self->spec_.health->at(i);
      if (first) {
        // The newest prober of an endpoint owns its health; an earlier config's stops here.
        id = self->id_;
        const std::uint64_t before = e.prober.exchange(id);
        if (before == 0 && !self->config_.start_healthy) {
          e.unhealthy.store(true);
          e.check_successes.store(0);
        }
        first = false;
      }
      if (e.prober.load() != id) co_return;
      const bool passed = co_await self->Check(i);
      if (e.prober.load() != id) co_return;
      (passed ? self->counters_->passed : self->counters_->failed).fetch_add(1);
      if (const int change = Apply(e, passed, self->config_); change != 0) {
        (change > 0 ? self->counters_->to_healthy : self->counters_->to_unhealthy).fetch_add(1);
        const std::string& addr = self->spec_.endpoints[i].address_text;
        if (change > 0) {
          spdlog::info("upstream {}: endpoint {} is healthy", self->spec_.name, addr);
        } else {
          spdlog::warn("upstream {}: endpoint {} is unhealthy ({} failed checks)", self->spec_.name,
                       addr, self->config_.unhealthy_threshold);
        }
      }
      wait = self->Wait();
    }
    timer.expires_after(wait);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void HealthCheckPolicy::Describe(std::string& out) const {
  const auto& c = prober_->config();
  fmt::format_to(std::back_inserter(out), ",\"type\":\"{}\",\"interval_ms\":{}",
                 c.type == HealthCheckConfig::Type::kTcp ? "tcp" : "http",
                 std::chrono::duration_cast<std::chrono::milliseconds>(c.interval).count());
}

std::shared_ptr<Policy> MakeHealthCheck(const YAML::Node& settings, PolicyContext& ctx) {
  HealthCheckConfig c;
  if (!HealthCheckFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  if (ctx.spec == nullptr || !ctx.spec->health) return nullptr;
  if (c.type == HealthCheckConfig::Type::kHttp && ctx.spec->http2) {
    ctx.reader.Error(settings, fmt::format("{}: HTTP checks speak HTTP/1.1; an h2 upstream takes "
                                           "`type: tcp`",
                                           ctx.where));
    return nullptr;
  }
  const std::string& name = ctx.upstream.name;
  UpstreamSpec spec = *ctx.spec;
  spec.policies.clear();
  spec.connection_limit.reset();  // checks never take a request's connection place
  spec.stats = ctx.metrics.Upstream("health_check:" + name);
  // The prober's connections are its own (its client's pool is keyed by these).
  for (auto& ep : spec.endpoints) ep.key = fmt::format("health:{}:{}", name, ep.key);
  std::vector<std::string> hosts;
  for (std::size_t i = 0; i < spec.endpoints.size(); ++i) {
    hosts.push_back(i < ctx.upstream.endpoints.size() ? ctx.upstream.endpoints[i].address
                                                      : spec.endpoints[i].address_text);
  }
  const std::string labels = fmt::format("upstream=\"{}\"", observe::EscapeLabelValue(name));
  // Counted on the control thread, kept across reloads with the upstream's name.
  auto counters = ctx.stores.Local<Prober::Counters>(
      "health_check:" + name, [] { return std::make_shared<Prober::Counters>(); },
      {{"rampart_upstream_health_checks_total", "counter",
        "Active health checks, by upstream and result."},
       {"rampart_upstream_health_changes_total", "counter",
        "Endpoints turned healthy or unhealthy by active checks, by upstream and state entered."}},
      [labels](std::weak_ptr<Prober::Counters> weak) -> state::Stores::Render {
        return [weak, labels](std::string& out, std::string_view family) {
          auto t = weak.lock();
          if (!t) return;
          if (family == "rampart_upstream_health_checks_total") {
            out += fmt::format("{}{{{},result=\"passed\"}} {}\n{}{{{},result=\"failed\"}} {}\n",
                               family, labels, t->passed.load(), family, labels, t->failed.load());
          } else if (family == "rampart_upstream_health_changes_total") {
            out +=
                fmt::format("{}{{{},to=\"healthy\"}} {}\n{}{{{},to=\"unhealthy\"}} {}\n", family,
                            labels, t->to_healthy.load(), family, labels, t->to_unhealthy.load());
          }
        };
      });
  auto prober = std::make_shared<Prober>(std::move(c), std::move(spec), std::move(hosts),
                                         ctx.services, std::move(counters));
  ctx.spec->health->set_checked(true);
  prober->Start();
  return std::make_shared<HealthCheckPolicy>(std::move(prober));
}

}  // namespace rampart::upstream::health
