#include "server/snapshot.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <sstream>

#include "config/yaml_reader.h"
#include "gates/blackhole/admin_endpoint.h"
#include "net/tls/client_tls.h"
#include "pipeline/gate_order.h"
#include "pipeline/gate_registry.h"
#include "upstream/adaptive_concurrency/adaptive_concurrency_policy.h"
#include "upstream/policy_registry.h"

namespace rampart::server {
namespace {

using config::ConfigError;

bool ResolveEndpoint(const config::Endpoint& ep, boost::asio::ip::tcp::endpoint& out,
                     std::string& error) {
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(ep.host, ec);
  if (!ec) {
    out = {addr, ep.port};
    return true;
  }
  // Names are resolved once, at load; a reload re-resolves them.
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
  if (ec || results.empty()) {
    error = fmt::format("cannot resolve '{}': {}", ep.host, ec ? ec.message() : "no addresses");
    return false;
  }
  out = results.begin()->endpoint();
  return true;
}

// The route's fallback answer: its body read now (a missing file is a load error).
template <typename Error>
void CompileFallback(const config::RouteFallback& f, const std::string& base_dir, CompiledRoute& cr,
                     Error&& error) {
  StoredResponse resp;
  resp.status = f.status;
  resp.headers = f.headers;
  resp.body = f.body;
  if (!f.body_file.empty()) {
    const std::string path =
        f.body_file.starts_with('/') ? f.body_file : base_dir + "/" + f.body_file;
    std::ifstream in(path, std::ios::binary);
    std::ostringstream all;
    all << in.rdbuf();
    if (!in) {
      error(fmt::format("route '{}': fallback.body_file '{}' cannot be read", cr.name, path));
      return;
    }
    resp.body = all.str();
  }
  cr.fallback = std::move(resp);
  for (const auto& w : f.on) {
    if (w == "circuit_open") cr.fallback_on |= CompiledRoute::kOnCircuitOpen;
    if (w == "no_endpoint") cr.fallback_on |= CompiledRoute::kOnNoEndpoint;
    if (w == "overloaded") cr.fallback_on |= CompiledRoute::kOnOverloaded;
    if (w == "timeout") cr.fallback_on |= CompiledRoute::kOnTimeout;
    if (w == "unavailable") cr.fallback_on |= CompiledRoute::kOnUnavailable;
  }
}

std::unique_ptr<CompiledRoute> CompileRoute(const config::Route& r, const Snapshot& snap,
                                            const std::string& base_dir, observe::Metrics& metrics,
                                            state::Stores& stores, Services& services,
                                            admin::AdminActions& admin,
                                            std::vector<ConfigError>& errors) {
  auto cr = std::make_unique<CompiledRoute>();
  cr->config = &r;
  cr->name = r.name;
  auto error = [&](std::string msg) {
    errors.push_back({r.origin.file, r.origin.line, std::move(msg)});
  };
  for (const auto& h : r.match.hosts) {
    if (h.starts_with("*."))
      cr->wildcard_hosts.push_back(h.substr(1));
    else
      cr->exact_hosts.push_back(h);
  }
  if (r.match.path) {
    cr->path_kind = CompiledRoute::PathKind::kExact;
    cr->path = *r.match.path;
  } else if (r.match.path_prefix) {
    cr->path_kind = CompiledRoute::PathKind::kPrefix;
    cr->path = *r.match.path_prefix;
  } else if (r.match.path_regex) {
    std::string err;
    cr->path_regex = Regex::Compile(*r.match.path_regex, &err);
    if (!cr->path_regex)
      error(fmt::format("route '{}': match.path_regex does not compile: {}", r.name, err));
    cr->path_kind = CompiledRoute::PathKind::kRegex;
  }
  cr->methods = r.match.methods;
  for (const auto& hm : r.match.headers) {
    CompiledHeaderMatch c;
    c.name = hm.name;
    c.exact = hm.exact;
    c.present = hm.present;
    if (hm.regex) {
      std::string err;
      c.regex = Regex::Compile(*hm.regex, &err);
      if (!c.regex)
        error(fmt::format("route '{}': header regex for '{}' does not compile: {}", r.name, hm.name,
                          err));
    }
    cr->headers.push_back(std::move(c));
  }
  if (auto it = snap.upstreams.find(r.upstream); it != snap.upstreams.end()) {
    cr->upstream = it->second.get();
  }
  if (auto it = snap.upstreams.find(r.fallback_upstream); it != snap.upstreams.end()) {
    cr->fallback_upstream = it->second.get();
  }
  if (r.fallback) CompileFallback(*r.fallback, base_dir, *cr, error);
  // Gates: built by their registered factories, then put in the default order unless explicit.
  std::vector<ConfigError> gate_errors;
  config::YamlReader reader(r.origin.file, gate_errors);
  std::vector<std::pair<int, std::unique_ptr<Gate>>> gates;
  for (std::size_t i = 0; i < r.gates.size(); ++i) {
    const auto& spec = r.gates[i];
    const GateFactory* factory = GateRegistry::Instance().Find(spec.kind);
    if (!factory) {
      errors.push_back(
          {spec.origin.file, spec.origin.line,
           fmt::format("route '{}': unknown gate '{}' (available: {})", r.name, spec.kind,
                       GateRegistry::Instance().KindList("none in this build"))});
      continue;
    }
    GateContext ctx{reader,      fmt::format("routes.{}.gates[{}].{}", r.name, i, spec.kind),
                    snap.config, r,
                    metrics,     stores,
                    services,    admin};
    auto gate = (*factory)(spec.settings, ctx);
    if (gate) gates.emplace_back(GateRank(spec.kind), std::move(gate));
  }
  errors.insert(errors.end(), gate_errors.begin(), gate_errors.end());
  if (!r.explicit_gate_order) {
    std::stable_sort(gates.begin(), gates.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  for (auto& [_, g] : gates) cr->gates.push_back(std::move(g));
  cr->CollectNeeds();
  cr->stats = metrics.Route(r.name);
  return cr;
}

// Weights (the smooth weighted round-robin cycle) and the consistent-hashing table.
void BuildBalancing(const config::Upstream& u, upstream::UpstreamSpec& spec) {
  spec.hash_on = u.hash_on;
  for (std::size_t i = 0; i < spec.endpoints.size() && i < u.endpoints.size(); ++i) {
    spec.weights.push_back(u.endpoints[i].weight);
    spec.weighted = spec.weighted || u.endpoints[i].weight != 1;
  }
  spec.weights.resize(spec.endpoints.size(), 1);
  if (spec.weighted) {  // nginx's smooth weighted round robin, one whole cycle
    std::int64_t total = 0;
    for (auto w : spec.weights) total += w;
    std::vector<std::int64_t> current(spec.weights.size(), 0);
    for (std::int64_t step = 0; step < total; ++step) {
      std::size_t best = 0;
      for (std::size_t i = 0; i < current.size(); ++i) {
        current[i] += spec.weights[i];
        if (current[i] > current[best]) best = i;
      }
      current[best] -= total;
      spec.wrr_order.push_back(static_cast<std::uint32_t>(best));
    }
  }
  if (u.load_balancer == config::LoadBalancer::kRingHash ||
      u.load_balancer == config::LoadBalancer::kMaglev) {
    std::vector<std::string_view> names;
    for (const auto& ep : spec.endpoints) names.push_back(ep.address_text);
    spec.hash = std::make_shared<upstream::HashBalancer>(
        u.load_balancer == config::LoadBalancer::kMaglev ? upstream::HashBalancer::Kind::kMaglev
                                                         : upstream::HashBalancer::Kind::kRing,
        names, spec.weights);
  }
}

// Each endpoint's membership state (health, ejection, draining), kept across reloads while the
// upstream keeps the endpoint.
std::shared_ptr<upstream::EndpointHealth> BuildHealth(const std::string& name,
                                                      const upstream::UpstreamSpec& spec,
                                                      std::vector<bool> backup,
                                                      state::Stores& stores) {
  std::vector<std::shared_ptr<upstream::EndpointState>> states;
  for (const auto& ep : spec.endpoints) {
    const std::string labels =
        fmt::format("upstream=\"{}\",endpoint=\"{}\"", observe::EscapeLabelValue(name),
                    observe::EscapeLabelValue(ep.address_text));
    states.push_back(stores.Local<upstream::EndpointState>(
        fmt::format("endpoint:{}:{}", name, ep.key),
        [] { return std::make_shared<upstream::EndpointState>(); },
        {{"rampart_upstream_endpoint_up", "gauge",
          "1 while an endpoint may take new requests (not down by health checks, ejected or "
          "draining), else 0."},
         {"rampart_upstream_endpoint_in_flight", "gauge",
          "Attempts in flight to an endpoint, every worker."}},
        [labels](std::weak_ptr<upstream::EndpointState> weak) -> state::Stores::Render {
          return [weak, labels](std::string& out, std::string_view family) {
            auto e = weak.lock();
            if (!e) return;
            if (family == "rampart_upstream_endpoint_up") {
              out += fmt::format("rampart_upstream_endpoint_up{{{}}} {}\n", labels,
                                 e->Up(std::chrono::steady_clock::now()) ? 1 : 0);
            } else if (family == "rampart_upstream_endpoint_in_flight") {
              out += fmt::format("rampart_upstream_endpoint_in_flight{{{}}} {}\n", labels,
                                 e->in_flight.load());
            }
          };
        }));
  }
  return std::make_shared<upstream::EndpointHealth>(std::move(states), std::move(backup));
}

// The upstream's policies, each built by its kind's registered factory.
void BuildPolicies(const config::Upstream& u, const Snapshot& snap, observe::Metrics& metrics,
                   state::Stores& stores, Services& services, upstream::UpstreamSpec& spec,
                   std::vector<ConfigError>& errors) {
  std::vector<ConfigError> policy_errors;
  config::YamlReader reader(u.origin.file, policy_errors);
  for (std::size_t i = 0; i < u.policies.size(); ++i) {
    const auto& p = u.policies[i];
    const upstream::PolicyFactory* factory = upstream::PolicyRegistry::Instance().Find(p.kind);
    if (factory == nullptr) {
      errors.push_back(
          {p.origin.file, p.origin.line,
           fmt::format("upstreams.{}: unknown policy '{}' (available: {})", u.name, p.kind,
                       upstream::PolicyRegistry::Instance().KindList("none in this build"))});
      continue;
    }
    upstream::PolicyContext ctx{
        reader,      fmt::format("upstreams.{}.policies[{}].{}", u.name, i, p.kind),
        snap.config, u,
        metrics,     stores,
        services,    metrics.slots(),
        &spec};
    if (auto policy = (*factory)(p.settings, ctx)) spec.policies.push_back(std::move(policy));
  }
  // The gateway-wide adaptive limit, after the upstream's own policies: its settings are read
  // for every upstream, but their errors are reported once (by the first upstream).
  if (const auto& global = snap.config.adaptive_concurrency) {
    std::vector<ConfigError> global_errors;
    config::YamlReader global_reader(global->origin.file, global_errors);
    upstream::PolicyContext ctx{
        global_reader, "adaptive_concurrency", snap.config, u, metrics, stores,
        services,      metrics.slots(),        &spec};
    if (auto policy = upstream::adaptive::MakeGlobalAdaptiveConcurrency(global->settings, ctx)) {
      spec.policies.push_back(std::move(policy));
    } else if (u.name == snap.config.upstreams.begin()->first) {
      policy_errors.insert(policy_errors.end(), global_errors.begin(), global_errors.end());
    }
  }
  errors.insert(errors.end(), policy_errors.begin(), policy_errors.end());
}

}  // namespace

const config::Listener* Snapshot::FindListener(std::string_view name) const noexcept {
  for (const auto& l : config.listeners) {
    if (l.name == name) return &l;
  }
  return nullptr;
}

BuildResult BuildSnapshot(config::LoadResult loaded, observe::Metrics& metrics,
                          state::Stores& stores, Services& services, std::uint64_t generation) {
  GateRegistry::RegisterBuiltins();
  upstream::PolicyRegistry::RegisterBuiltins();
  BuildResult out;
  if (!loaded.config) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  auto snap = std::make_shared<Snapshot>();
  snap->config = std::move(*loaded.config);
  snap->generation = generation;
  snap->unrouted_stats = metrics.Route("(unrouted)");
  const std::string base_dir = [&] {
    const auto slash = snap->config.file.rfind('/');
    return slash == std::string::npos ? std::string(".") : snap->config.file.substr(0, slash);
  }();
  static constexpr observe::CounterDef<1> kHttp2Connections{
      "rampart_http2_connections_total", "HTTP/2 connections a listener accepted.", {"listener"}};
  static constexpr observe::CounterDef<1> kHttp2Streams{
      "rampart_http2_streams_total",
      "HTTP/2 streams (requests) a listener accepted.",
      {"listener"}};
  static constexpr observe::CounterDef<1> kHttp2Resets{
      "rampart_http2_client_resets_total", "RST_STREAM frames HTTP/2 clients sent.", {"listener"}};
  static constexpr observe::CounterDef<2> kHttp2Goaways{
      "rampart_http2_goaways_total",
      "HTTP/2 connections rampart ended with GOAWAY, by reason (floods, protocol errors, idle).",
      {"listener", "reason"}};
  static constexpr observe::CounterDef<2> kRefused{
      "rampart_connections_refused_total",
      "Connections a listener closed before sending a byte, by reason.",
      {"listener", "reason"}};
  static constexpr observe::CounterDef<2> kProxyHeaders{
      "rampart_proxy_protocol_headers_total",
      "Well-formed PROXY protocol headers, by what they said (proxy, local, unknown).",
      {"listener", "result"}};
  static constexpr observe::CounterDef<2> kSlow{
      "rampart_slow_clients_total",
      "Clients cut for being slow: sending the request head or body, or reading the response.",
      {"listener", "phase"}};
  for (const auto& l : snap->config.listeners) {
    downstream::ListenerCounters c;
    for (std::size_t p = 0; p < c.slow.size(); ++p) {
      c.slow[p] = metrics.Counter(
          kSlow, {l.name, downstream::SlowPhaseToken(static_cast<downstream::SlowPhase>(p))});
    }
    for (std::size_t r = 0; r < c.refused.size(); ++r) {
      c.refused[r] =
          metrics.Counter(kRefused, {l.name, downstream::ConnectionRefusalToken(
                                                 static_cast<downstream::ConnectionRefusal>(r))});
    }
    if (l.proxy_protocol) {
      for (std::size_t r = 0; r < c.proxy_headers.size(); ++r) {
        c.proxy_headers[r] = metrics.Counter(
            kProxyHeaders, {l.name, downstream::ProxyHeaderResultToken(
                                        static_cast<downstream::ProxyHeaderResult>(r))});
      }
    }
    auto& edge = snap->listener_edges[l.name];
    edge.counters = c;
    if (l.ip_list) {
      std::string error;
      edge.ip_list = ip_list::IpList::Build("listener:" + l.name, *l.ip_list, base_dir, &error);
      if (!edge.ip_list) {
        out.errors.push_back({l.ip_list_origin.file, l.ip_list_origin.line,
                              fmt::format("listener '{}': ip_list: {}", l.name, error)});
      } else {
        ip_list::IpListWatch::Instance().Add(edge.ip_list);
      }
    }
    edge.limiter = services.connection_limiters ? services.connection_limiters->For(l.name)
                                                : std::make_shared<gates::ConnectionLimiter>(1);
  }
  for (const auto& l : snap->config.listeners) {
    if (!l.http2.enabled) continue;
    downstream::Http2Counters c;
    c.connections = metrics.Counter(kHttp2Connections, {l.name});
    c.streams = metrics.Counter(kHttp2Streams, {l.name});
    c.resets = metrics.Counter(kHttp2Resets, {l.name});
    for (std::size_t r = 0; r < c.goaways.size(); ++r) {
      c.goaways[r] = metrics.Counter(
          kHttp2Goaways,
          {l.name, downstream::GoawayReasonToken(static_cast<downstream::GoawayReason>(r))});
    }
    snap->http2[l.name] = c;
  }
  for (const auto& l : snap->config.listeners) {
    if (!l.tls) continue;
    std::string error;
    auto built = tls::ServerTls::Build(*l.tls, base_dir, &error);
    if (!built) {
      out.errors.push_back({l.tls->origin.file, l.tls->origin.line,
                            fmt::format("listener '{}': tls: {}", l.name, error)});
      continue;
    }
    auto slot = std::make_shared<tls::TlsSlot>(l.name, *l.tls, base_dir, std::move(built));
    static constexpr observe::CounterDef<2> kHandshakes{"rampart_tls_handshakes_total",
                                                        "TLS handshakes on a listener, by result.",
                                                        {"listener", "result"}};
    slot->set_counters(metrics.Counter(kHandshakes, {l.name, "ok"}),
                       metrics.Counter(kHandshakes, {l.name, "failed"}));
    snap->tls[l.name] = std::move(slot);
  }
  for (const auto& [name, u] : snap->config.upstreams) {
    auto spec = std::make_unique<upstream::UpstreamSpec>();
    spec->name = name;
    spec->load_balancer = u.load_balancer;
    spec->connect_timeout = u.connect_timeout;
    spec->response_timeout = u.response_timeout;
    spec->idle_timeout = u.idle_timeout;
    spec->drain_timeout = u.drain_timeout;
    spec->max_idle_per_endpoint = u.max_idle_per_endpoint;
    spec->stats = metrics.Upstream(name);
    spec->http2 = u.protocol == config::UpstreamProtocol::kHttp2;
    if (u.tls) {
      std::string error;
      spec->tls = tls::BuildClientContext(*u.tls, base_dir, &error);
      if (!spec->tls) {
        out.errors.push_back({u.tls->origin.file, u.tls->origin.line,
                              fmt::format("upstreams.{}.tls: {}", name, error)});
      } else if (spec->http2) {
        static constexpr unsigned char kH2[] = {2, 'h', '2'};
        SSL_CTX_set_alpn_protos(spec->tls->native_handle(), kH2, sizeof kH2);
      }
    }
    std::vector<bool> backup;
    for (const auto& ep : u.endpoints) {
      upstream::EndpointSpec es;
      // TLS and HTTP/2 endpoints are keyed per upstream: their connections are not shared.
      es.key = u.tls         ? fmt::format("tls:{}@{}", name, ep.address)
               : spec->http2 ? fmt::format("h2c:{}@{}", name, ep.address)
                             : ep.address;
      if (u.tls) es.tls_name = u.tls->server_name.empty() ? ep.host : u.tls->server_name;
      std::string err;
      if (!ResolveEndpoint(ep, es.address, err)) {
        out.errors.push_back(
            {u.origin.file, u.origin.line, fmt::format("upstreams.{}: {}", name, err)});
        continue;
      }
      es.address_text = fmt::format("{}:{}", es.address.address().to_string(), es.address.port());
      spec->endpoints.push_back(std::move(es));
      backup.push_back(ep.backup);
    }
    spec->health = BuildHealth(name, *spec, std::move(backup), stores);
    BuildBalancing(u, *spec);
    BuildPolicies(u, *snap, metrics, stores, services, *spec, out.errors);
    snap->upstreams.emplace(name, std::move(spec));
  }
  for (const auto& l : snap->config.listeners) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(l.host, ec);
    if (ec) {
      out.errors.push_back(
          {l.origin.file, l.origin.line,
           fmt::format("listeners.{}: address host '{}' must be an IP address", l.name, l.host)});
    }
  }
  for (const auto& r : snap->config.routes) {
    snap->router.Add(
        CompileRoute(r, *snap, base_dir, metrics, stores, services, snap->admin, out.errors));
  }
  // Local replies by reason: the core ones, then every reason a gate answers with.
  for (int r = 0; r < static_cast<int>(observe::LocalReason::kCount); ++r) {
    snap->local_replies.Declare(metrics,
                                observe::ReasonToken(static_cast<observe::LocalReason>(r)));
  }
  snap->local_replies.Declare(metrics, "not_implemented");
  for (const auto& route : snap->router.routes()) {
    for (const auto& g : route->gates) {
      for (std::string_view reason : g->Reasons()) snap->local_replies.Declare(metrics, reason);
    }
  }
  snap->site.local_replies = &snap->local_replies;
  snap->site.router = &snap->router;
  snap->site.via = snap->config.via;
  snap->site.request_id_header = snap->config.request_id_header;
  snap->site.unrouted_stats = snap->unrouted_stats;
  if (snap->config.blackhole && services.blackhole != nullptr) {
    snap->site.blackhole = services.blackhole;
    snap->site.blackhole_settings = &*snap->config.blackhole;
    gates::AddBlackholeEndpoint(snap->admin, services.blackhole);
  }
  if (out.errors.empty()) out.snapshot = std::move(snap);
  return out;
}

}  // namespace rampart::server
