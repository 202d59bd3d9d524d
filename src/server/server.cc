#include "server/server.h"

#include <csignal>
#include <optional>
#include <thread>

#include "core/strings.h"
#include "net/tls/ticket_keys.h"

namespace rampart::server {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;

std::string ErrorsJson(const std::vector<config::ConfigError>& errors) {
  std::string out =
      "{\"error\":\"config_invalid\",\"message\":\"the new configuration was refused; the previous "
      "one keeps serving\",\"errors\":[";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) out += ",";
    out += "\"";
    AppendJsonEscaped(out, errors[i].ToString());
    out += "\"";
  }
  out += "]}\n";
  return out;
}

bool HasEndpoint(const Snapshot& snap, std::string_view key) {
  for (const auto& [_, up] : snap.upstreams) {
    for (const auto& ep : up->endpoints) {
      if (ep.key == key) return true;
    }
  }
  return false;
}

}  // namespace

Server::Server(std::string config_path) : config_path_(std::move(config_path)) {}

Server::~Server() {
  for (auto& w : workers_) w->Stop();
  for (auto& w : workers_) w->Join();
}

bool Server::BindListener(const config::Listener& l, std::vector<tcp::acceptor>& out,
                          std::string* error) {
  boost::system::error_code ec;
  tcp::endpoint ep(asio::ip::make_address(l.host, ec), l.port);
  for (auto& w : workers_) {
    tcp::acceptor acc(w->io());
    if (!ec) acc.open(ep.protocol(), ec);
    if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acc.set_option(ReusePort(true), ec);
    if (!ec) acc.bind(ep, ec);
    if (!ec) acc.listen(4096, ec);
    if (ec) {
      *error =
          fmt::format("listener '{}': cannot listen on {}: {}", l.name, l.address, ec.message());
      out.clear();
      return false;
    }
    out.push_back(std::move(acc));
  }
  return true;
}

int Server::Run() {
  auto loaded = config::LoadConfigFile(config_path_);
  int workers = 1;
  if (loaded.config) {
    workers = loaded.config->workers > 0
                  ? loaded.config->workers
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  metrics_ = std::make_unique<observe::Metrics>(workers);
  stores_ = std::make_unique<state::Stores>(workers, *metrics_);
  client_ = std::make_unique<upstream::HttpClient>(control_loop_, *metrics_);
  ocsp_ = std::make_unique<OcspRefresher>(*client_);
  services_ = {control_.get_executor(), client_.get(), &connection_limiters_, &blackhole_};
  blackhole_sync_ = std::make_unique<gates::BlackholeSync>(control_.get_executor(), blackhole_);
  auto built = BuildSnapshot(std::move(loaded), *metrics_, *stores_, services_, ++generation_);
  if (!built.snapshot) {
    for (const auto& e : built.errors) spdlog::error("{}", e.ToString());
    return 1;
  }
  snap_ = built.snapshot;
  const config::Config& cfg = snap_->config;
  std::string error;
  access_log_ = observe::AccessLog::Open(cfg.access_log, &error);
  if (cfg.access_log.enabled && !access_log_) {
    spdlog::error("{}: access_log.path: cannot open '{}': {}", cfg.file, cfg.access_log.path,
                  error);
    return 1;
  }
  for (int i = 0; i < workers; ++i)
    workers_.push_back(std::make_unique<Worker>(i, *metrics_, cfg.busy_poll));
  for (const auto& l : cfg.listeners) {
    std::vector<tcp::acceptor> accs;
    if (!BindListener(l, accs, &error)) {
      spdlog::error("{}", error);
      return 1;
    }
    for (std::size_t i = 0; i < accs.size(); ++i)
      workers_[i]->AddAcceptor(l.name, std::move(accs[i]));
    bound_[l.name] = l.address;
  }
  if (cfg.admin.enabled) {
    admin_ = admin::AdminServer::Start(
        control_, cfg.admin.host, cfg.admin.port,
        [this](admin::AdminRequest r) { return HandleAdmin(std::move(r)); }, &error);
    if (!admin_) {
      spdlog::error("admin: cannot listen on {}: {}", cfg.admin.address, error);
      return 1;
    }
  }
  for (auto& w : workers_) w->Start(snap_, access_log_);
  for (const auto& l : cfg.listeners) spdlog::info("listening on {} ({})", l.address, l.name);
  if (cfg.admin.enabled) spdlog::info("admin on {}", cfg.admin.address);
  spdlog::info("rampart started: {} worker(s), {} route(s)", workers, cfg.routes.size());

  asio::signal_set signals(control_, SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int sig) {
        if (ec) return;
        if (sig == SIGHUP) {
          spdlog::info("SIGHUP: reloading {}", config_path_);
          Reload();
        } else {
          spdlog::info("{}: draining", sig == SIGTERM ? "SIGTERM" : "SIGINT");
          BeginDrain();
        }
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  asio::co_spawn(control_, WatchCertificates(), asio::detached);
  metrics_->AddCollector([this](std::string& out) { RenderTlsMetrics(out); });
  metrics_->AddCollector([this](std::string& out) { OcspRefresher::RenderMetrics(*snap_, out); });
  metrics_->AddCollector(
      [](std::string& out) { ip_list::IpListWatch::Instance().RenderMetrics(out); });
  metrics_->AddCollector([this](std::string& out) {
    if (!snap_ || !snap_->config.blackhole) return;
    out += "# HELP rampart_blackhole_active Clients blackholed now.\n";
    out += "# TYPE rampart_blackhole_active gauge\n";
    out += fmt::format("rampart_blackhole_active {}\n",
                       blackhole_.active(std::chrono::steady_clock::now()));
    out += "# HELP rampart_blackhole_added_total Clients blackholed, by who decided.\n";
    out += "# TYPE rampart_blackhole_added_total counter\n";
    out += fmt::format("rampart_blackhole_added_total{{source=\"refusals\"}} {}\n",
                       blackhole_.added_automatically());
    out += fmt::format("rampart_blackhole_added_total{{source=\"admin\"}} {}\n",
                       blackhole_.added_manually());
    out += fmt::format("rampart_blackhole_added_total{{source=\"shared\"}} {}\n",
                       blackhole_.added_shared());
    if (snap_->config.blackhole->shared) {
      out += "# HELP rampart_blackhole_syncs_total Rounds of sharing blackholes through Redis.\n";
      out += "# TYPE rampart_blackhole_syncs_total counter\n";
      out += fmt::format("rampart_blackhole_syncs_total{{result=\"ok\"}} {}\n",
                         blackhole_sync_->syncs_ok());
      out += fmt::format("rampart_blackhole_syncs_total{{result=\"failed\"}} {}\n",
                         blackhole_sync_->syncs_failed());
    }
  });
  control_.run();
  for (auto& w : workers_) w->Stop();
  for (auto& w : workers_) w->Join();
  spdlog::info("rampart stopped");
  return exit_code_;
}

void Server::BeginDrain() {
  if (draining_) return;
  draining_ = true;
  if (admin_) admin_->Stop();
  for (auto& w : workers_) w->BeginDrain();
  // Exit when every connection has finished, or at the drain deadline.
  asio::co_spawn(control_,
                 WaitForDrain(std::chrono::steady_clock::now() + snap_->config.drain_timeout),
                 asio::detached);
}

asio::awaitable<void> Server::WaitForDrain(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(control_);
  for (;;) {
    std::int64_t active = 0;
    for (auto& w : workers_) active += w->active_connections();
    if (active == 0 || std::chrono::steady_clock::now() >= deadline) {
      if (active > 0) spdlog::warn("drain timeout: closing {} connection(s)", active);
      control_.stop();
      co_return;
    }
    timer.expires_after(std::chrono::milliseconds(20));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

admin::AdminResponse Server::Reload() {
  auto built = BuildSnapshot(config::LoadConfigFile(config_path_), *metrics_, *stores_, services_,
                             generation_ + 1);
  auto refuse = [&](std::vector<config::ConfigError> errors) {
    metrics_->CountReload(false);
    for (const auto& e : errors) spdlog::error("reload refused: {}", e.ToString());
    return admin::AdminResponse{400, "application/json", ErrorsJson(errors)};
  };
  if (!built.snapshot) return refuse(std::move(built.errors));
  const config::Config& cfg = built.snapshot->config;
  std::string error;
  auto log = access_log_;
  if (cfg.access_log.enabled != snap_->config.access_log.enabled ||
      cfg.access_log.path != snap_->config.access_log.path) {
    log = observe::AccessLog::Open(cfg.access_log, &error);
    if (cfg.access_log.enabled && !log) {
      return refuse(
          {{cfg.file, 0,
            fmt::format("access_log.path: cannot open '{}': {}", cfg.access_log.path, error)}});
    }
  }
  // Listeners: unchanged ones keep their sockets; new or moved ones are bound first, so a bind
  // error refuses the whole reload.
  std::vector<std::string> removed;
  std::vector<std::pair<std::string, std::vector<tcp::acceptor>>> added;
  for (const auto& [name, address] : bound_) {
    const config::Listener* l = built.snapshot->FindListener(name);
    if (!l || l->address != address) removed.push_back(name);
  }
  for (const auto& l : cfg.listeners) {
    auto it = bound_.find(l.name);
    if (it != bound_.end() && it->second == l.address) continue;
    bool moving_onto_own_port = false;
    for (const auto& [n, a] : bound_) moving_onto_own_port |= a == l.address;
    if (moving_onto_own_port) {
      return refuse({{l.origin.file, l.origin.line,
                      fmt::format("listener '{}': address {} is in use by another listener being "
                                  "renamed; rename and move in separate reloads",
                                  l.name, l.address)}});
    }
    std::vector<tcp::acceptor> accs;
    if (!BindListener(l, accs, &error)) return refuse({{l.origin.file, l.origin.line, error}});
    added.emplace_back(l.name, std::move(accs));
  }
  if (cfg.workers != snap_->config.workers) {
    spdlog::warn("reload: 'workers' changes take effect at the next restart");
  }
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    std::vector<std::pair<std::string, tcp::acceptor>> mine;
    for (auto& [name, accs] : added) mine.emplace_back(name, std::move(accs[i]));
    workers_[i]->Install(built.snapshot, log, std::move(mine), removed);
  }
  for (const auto& name : removed) bound_.erase(name);
  for (const auto& l : cfg.listeners) bound_[l.name] = l.address;
  // Endpoints this reload removed: their requests in flight are cut at the drain timeout of the
  // upstream they were in, unless a later reload brought them back by then.
  for (const auto& [name, up] : snap_->upstreams) {
    for (const auto& ep : up->endpoints) {
      if (HasEndpoint(*built.snapshot, ep.key)) continue;
      CutAfterDrain(name, ep.key, up->drain_timeout,
                    [this, key = ep.key] { return !HasEndpoint(*snap_, key); });
    }
  }
  snap_ = built.snapshot;
  access_log_ = log;
  ++generation_;
  metrics_->CountReload(true);
  spdlog::info("configuration reloaded (generation {})", generation_);
  return {200, "application/json",
          fmt::format("{{\"status\":\"reloaded\",\"generation\":{}}}\n", generation_)};
}

void Server::ShareBlackholes() {
  // The current config says whether (and through which Redis) blackholes are shared; the sync
  // changes nothing while that stays the same.
  const config::Config& cfg = snap_->config;
  std::optional<state::redis::Options> options;
  if (cfg.blackhole && cfg.blackhole->shared && cfg.state.redis) {
    options = state::RedisOptionsFrom(*cfg.state.redis);
  }
  blackhole_sync_->Configure(options);
}

asio::awaitable<void> Server::WatchCertificates() {
  // Certificate files are checked once a second (a stat per file); a changed pair is loaded
  // and swapped in for new handshakes. Runs on the control thread, like reloads.
  asio::steady_timer timer(control_);
  while (!draining_) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    if (tls::TicketKeys::Instance().Rotate(now, tls::kTicketKeyRotationSeconds,
                                           tls::kTicketKeyLifetimeSeconds) &&
        !snap_->tls.empty()) {
      spdlog::info("TLS session-ticket key rotated");
    }
    for (const auto& [_, slot] : snap_->tls) slot->Refresh();
    ocsp_->Tick(*snap_);  // OCSP staples that are due, fetched in the background
    ShareBlackholes();
    ip_list::IpListWatch::Instance().RefreshAll();  // list files, the same way
    timer.expires_after(std::chrono::seconds(1));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void Server::RenderTlsMetrics(std::string& out) const {
  // Called on the control thread (the admin listener runs there), where snap_ lives.
  if (snap_->tls.empty()) return;
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  out += "# HELP rampart_tls_certificate_expiry_seconds Seconds until the certificate expires.\n";
  out += "# TYPE rampart_tls_certificate_expiry_seconds gauge\n";
  for (const auto& [name, slot] : snap_->tls) {
    for (const auto& c : slot->current()->certificates()) {
      out += fmt::format(
          "rampart_tls_certificate_expiry_seconds{{listener=\"{}\",certificate=\"{}\"}} {}\n",
          observe::EscapeLabelValue(name), observe::EscapeLabelValue(c.file), c.not_after - now);
    }
  }
  out += "# TYPE rampart_tls_certificate_reloads_total counter\n";
  for (const auto& [name, slot] : snap_->tls) {
    out +=
        fmt::format("rampart_tls_certificate_reloads_total{{listener=\"{}\",result=\"ok\"}} {}\n",
                    observe::EscapeLabelValue(name), slot->reloads_ok());
    out += fmt::format(
        "rampart_tls_certificate_reloads_total{{listener=\"{}\",result=\"refused\"}} {}\n",
        observe::EscapeLabelValue(name), slot->reloads_failed());
  }
}

std::string Server::DescribeCertificates() const {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::string out = "{\"listeners\":[";
  bool first_l = true;
  for (const auto& [name, slot] : snap_->tls) {
    out += first_l ? "{\"listener\":\"" : ",{\"listener\":\"";
    first_l = false;
    AppendJsonEscaped(out, name);
    out += "\",\"certificates\":[";
    bool first_c = true;
    for (const auto& c : slot->current()->certificates()) {
      out += first_c ? "{\"file\":\"" : ",{\"file\":\"";
      first_c = false;
      AppendJsonEscaped(out, c.file);
      out += "\",\"subject\":\"";
      AppendJsonEscaped(out, c.subject);
      out += "\",\"names\":[";
      for (std::size_t i = 0; i < c.names.size(); ++i) {
        out += i ? ",\"" : "\"";
        AppendJsonEscaped(out, c.names[i]);
        out += "\"";
      }
      out += fmt::format("],\"not_after\":{},\"ocsp\":", c.not_after);
      if (c.ocsp) {
        c.ocsp->Describe(now, out);
      } else {
        tls::DescribeNoStaple(c.ocsp_note, out);
      }
      out += "}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

namespace {

// An endpoint's membership for GET /admin/upstreams: JSON members after its address.
void DescribeEndpoint(const upstream::EndpointHealth& h, std::size_t i, SteadyTime now,
                      std::string& out) {
  const upstream::EndpointState& e = h.at(i);
  const std::int64_t until = e.ejected_until.load();
  const std::int64_t left_ms =
      std::max<std::int64_t>(0, (until - upstream::EndpointState::Nanos(now)) / 1'000'000);
  const std::uint32_t calls = e.interval_calls.load();
  const std::uint32_t failures = e.interval_failures.load();
  fmt::format_to(std::back_inserter(out),
                 ",\"up\":{},\"healthy\":{},\"ejected\":{},\"ejected_for_ms\":{},"
                 "\"ejections\":{},\"draining\":{},\"backup\":{},\"in_flight\":{},"
                 "\"recent_calls\":{},\"recent_error_rate\":{:.3f}",
                 h.Up(i, now), !(h.checked() && e.unhealthy.load()), e.Ejected(now), left_ms,
                 e.ejections.load(), e.draining.load(), h.backup(i), e.in_flight.load(), calls,
                 calls ? static_cast<double>(failures) / calls : 0.0);
}

}  // namespace

void Server::CutAfterDrain(std::string upstream, std::string key, std::chrono::microseconds after,
                           std::function<bool()> still, const void* owner) {
  auto timer = std::make_shared<asio::steady_timer>(control_, after);
  timer->async_wait([this, timer, upstream = std::move(upstream), key = std::move(key),
                     still = std::move(still), owner](const boost::system::error_code& ec) {
    if (ec || draining_ || !still()) return;
    spdlog::warn("upstream {}: endpoint {} drain timed out: cutting its requests in flight",
                 upstream, key);
    for (auto& w : workers_) w->CutEndpoint(key, metrics_->Upstream(upstream), owner);
  });
}

admin::AdminResponse Server::DrainEndpoint(const admin::AdminRequest& request) {
  // /admin/upstreams/NAME/endpoints/ADDRESS/drain (or undrain)
  auto fail = [](int status, std::string_view code, std::string message) {
    return admin::AdminResponse{status, "application/json", admin::AdminError(code, message)};
  };
  std::vector<std::string_view> parts;
  std::string_view rest = std::string_view(request.path).substr(sizeof("/admin/upstreams/") - 1);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  }
  if (parts.size() != 4 || parts[1] != "endpoints" ||
      (parts[3] != "drain" && parts[3] != "undrain")) {
    return fail(404, "not_found",
                "POST /admin/upstreams/NAME/endpoints/ADDRESS/drain (or /undrain)");
  }
  if (request.method != "POST") return fail(405, "method_not_allowed", "use POST");
  // As for the admin actions: a browser cannot send application/json across origins unasked.
  if (!IStartsWith(request.content_type, "application/json"))
    return fail(415, "unsupported_media_type", "send the body as application/json");
  auto it = snap_->upstreams.find(std::string(parts[0]));
  if (it == snap_->upstreams.end())
    return fail(404, "not_found", fmt::format("no upstream '{}'", parts[0]));
  const upstream::UpstreamSpec& up = *it->second;
  for (std::size_t i = 0; i < up.endpoints.size(); ++i) {
    const upstream::EndpointSpec& ep = up.endpoints[i];
    if (ep.address_text != parts[2] && ep.key != parts[2]) continue;
    const bool drain = parts[3] == "drain";
    upstream::EndpointState& state = up.health->at(i);
    // A repeated drain keeps the first one's timeout running.
    const bool was_draining = state.draining.exchange(drain);
    spdlog::info("upstream {}: endpoint {} {}", up.name, ep.address_text,
                 drain ? "draining" : "back in service");
    if (drain && !was_draining) {
      // Its idle pooled connections close and its HTTP/2 sessions take no new streams; requests
      // in flight finish, or are cut at the upstream's drain timeout.
      const std::uint32_t epoch = state.drain_epoch.fetch_add(1) + 1;
      for (auto& w : workers_) w->DrainEndpoint(ep.key);
      CutAfterDrain(
          up.name, ep.key, up.drain_timeout,
          [health = up.health, i, epoch] {
            const upstream::EndpointState& e = health->at(i);
            return e.draining.load() && e.drain_epoch.load() == epoch;
          },
          &state);
    }
    std::string body = "{\"upstream\":\"";
    AppendJsonEscaped(body, up.name);
    body += "\",\"endpoint\":\"";
    AppendJsonEscaped(body, ep.address_text);
    body += "\"";
    DescribeEndpoint(*up.health, i, std::chrono::steady_clock::now(), body);
    body += "}\n";
    return admin::AdminResponse{200, "application/json", std::move(body)};
  }
  return fail(404, "not_found",
              fmt::format("upstream '{}' has no endpoint '{}'", up.name, parts[2]));
}

std::string Server::DescribeUpstreams() const {
  // Counters are the workers' own, summed as for /metrics; policies describe themselves.
  static constexpr std::array<std::string_view, 4> kErrors = {"connect_failure", "timeout", "reset",
                                                              "bad_response"};
  const int slots = static_cast<int>(workers_.size());
  std::string out = "{\"upstreams\":[";
  bool first = true;
  for (const auto& [name, up] : snap_->upstreams) {
    out += first ? "{\"name\":\"" : ",{\"name\":\"";
    first = false;
    AppendJsonEscaped(out, name);
    out += fmt::format("\",\"protocol\":\"{}\",\"tls\":{},\"endpoints\":[",
                       up->http2 ? "h2" : "http1", up->tls ? "true" : "false");
    const SteadyTime now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < up->endpoints.size(); ++i) {
      out += i ? ",{\"address\":\"" : "{\"address\":\"";
      AppendJsonEscaped(out, up->endpoints[i].address_text);
      out += "\"";
      if (up->health) DescribeEndpoint(*up->health, i, now, out);
      out += "}";
    }
    std::uint64_t attempts = 0;
    std::array<std::uint64_t, kErrors.size()> errors{};
    for (int s = 0; s < slots && up->stats != nullptr; ++s) {
      const observe::UpstreamSlot& slot = std::as_const(*up->stats).slot(s);
      attempts += slot.requests.Get();
      for (std::size_t e = 0; e < errors.size(); ++e) errors[e] += slot.errors[e].Get();
    }
    out += fmt::format("],\"attempts\":{},\"errors\":{{", attempts);
    for (std::size_t e = 0; e < errors.size(); ++e) {
      out += fmt::format("{}\"{}\":{}", e ? "," : "", kErrors[e], errors[e]);
    }
    out += "},\"policies\":[";
    for (std::size_t p = 0; p < up->policies.size(); ++p) {
      out += p ? ",{\"kind\":\"" : "{\"kind\":\"";
      AppendJsonEscaped(out, up->policies[p]->Name());
      out += "\"";
      up->policies[p]->Describe(out);
      out += "}";
    }
    out += "]}";
  }
  out += "]}\n";
  return out;
}

asio::awaitable<admin::AdminResponse> Server::HandleAdmin(admin::AdminRequest request) {
  const std::string& path = request.path;
  const std::string& method = request.method;
  if (path == "/admin/certificates" && method == "GET") {
    co_return admin::AdminResponse{200, "application/json", DescribeCertificates()};
  }
  if (path == "/admin/upstreams" && method == "GET") {
    co_return admin::AdminResponse{200, "application/json", DescribeUpstreams()};
  }
  if (path.starts_with("/admin/upstreams/") && path.find("/endpoints/") != std::string::npos)
    co_return DrainEndpoint(request);
  if (path == "/metrics" && method == "GET") {
    co_return admin::AdminResponse{
        200, "text/plain; version=0.0.4",
        metrics_->RenderPrometheus(access_log_ ? access_log_->dropped() : 0)};
  }
  if (path == "/healthz" && method == "GET") {
    co_return admin::AdminResponse{200, "application/json", "{\"status\":\"ok\"}\n"};
  }
  if (path == "/readyz" && method == "GET") {
    if (draining_) {
      co_return admin::AdminResponse{503, "application/json", "{\"status\":\"draining\"}\n"};
    }
    co_return admin::AdminResponse{200, "application/json", "{\"status\":\"ready\"}\n"};
  }
  if (path == "/admin/reload") {
    if (method != "POST") {
      co_return admin::AdminResponse{405, "application/json",
                                     admin::AdminError("method_not_allowed", "use POST")};
    }
    co_return Reload();
  }
  // The snapshot is held while its actions run: a reload meanwhile does not free them.
  std::shared_ptr<const Snapshot> snap = snap_;
  if (const auto* actions = snap->admin.Find(path)) {
    co_return co_await RunActions(snap, *actions, request);
  }
  std::string list =
      "/metrics /healthz /readyz /admin/reload /admin/certificates /admin/upstreams "
      "/admin/upstreams/NAME/endpoints/ADDRESS/drain";
  for (const auto& p : snap->admin.Paths()) list += " " + p;
  co_return admin::AdminResponse{404, "application/json",
                                 admin::AdminError("not_found", "admin endpoints: " + list)};
}

asio::awaitable<admin::AdminResponse> Server::RunActions(
    std::shared_ptr<const Snapshot> snap, const std::vector<admin::AdminActions::Entry>& actions,
    const admin::AdminRequest& request) {
  // A web page cannot send application/json across origins without a preflight, which this
  // listener never grants: a browser on the operator's machine cannot forge these calls.
  if (request.method != "GET" && !IStartsWith(request.content_type, "application/json")) {
    co_return admin::AdminResponse{
        415, "application/json",
        admin::AdminError("unsupported_media_type", "send the body as application/json")};
  }
  std::optional<admin::AdminResponse> error, success;
  admin::AdminResponse last{404, "application/json", admin::AdminError("not_found", "")};
  for (const admin::AdminActions::Entry& e : actions) {
    // On worker 0's loop, which owns its key-value clients; back here when it is done.
    last = co_await asio::co_spawn(workers_[0]->io(), e.action(request), asio::use_awaitable);
    if (!e.broadcast) {
      if (last.status != 404) break;
      continue;
    }
    if (last.status >= 300 && last.status != 404 && !error) error = last;
    if (last.status < 300 && !success) success = last;
  }
  (void)snap;
  if (error) co_return *error;
  if (success) co_return *success;
  co_return last;
}

}  // namespace rampart::server
