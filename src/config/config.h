// The typed configuration: plain structs filled by LoadConfig() and checked by it. Every default
// here is the documented default (docs/configuration.md).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/cidr.h"
#include "core/units.h"
#include "gates/blackhole/blackhole_settings.h"
#include "gates/ip_list/ip_list_spec.h"
#include "http/client_ip_header.h"

namespace rampart::config {

using std::chrono::microseconds;
using namespace std::chrono_literals;

// Where a value came from, for messages: "rampart.yaml:12".
struct Origin {
  std::string file;
  int line = 0;
};

struct ListenerLimits {
  std::uint64_t max_request_line_bytes = 8 * 1024;
  std::uint64_t max_header_bytes = 32 * 1024;
  std::uint32_t max_headers = 100;
  std::uint64_t max_body_bytes = 10 * 1024 * 1024;
  microseconds header_timeout = 10s;
  microseconds idle_timeout = 60s;
  microseconds body_timeout = 30s;
  microseconds send_timeout = 60s;
  std::uint32_t max_requests_per_connection = 0;  // 0 = unlimited
  // Range abuse (http/range_header.h): more ranges than this, or overlapping ones, are refused
  // with 416, or the Range field is removed (`strip_bad_ranges`) and the whole body is served.
  std::uint32_t max_ranges = 16;
  bool strip_bad_ranges = false;
  // Slow clients (net/rate_floor.h): the bytes per second a client must keep up while rampart
  // waits on it, judged over rate_window; 0 turns a floor off. Apache's mod_reqtimeout uses the
  // same 500 bytes per second by default.
  std::uint64_t min_request_body_rate = 512;
  std::uint64_t min_response_rate = 512;
  microseconds rate_window = 10s;
  // Request bodies up to this many bytes are read whole before the upstream is connected, so a
  // slow upload never holds an origin connection (a larger body streams once this much is held);
  // 0: bodies stream as they arrive. A route may set its own (`buffer_request_body`).
  std::uint64_t buffer_request_body = 0;
};

// TLS on a listener (issue 3). Files are read at load and watched for changes afterwards.
// OCSP stapling per certificate (net/tls/ocsp_staple.h): `auto` fetches from the responder the
// certificate names, `file` serves `ocsp_file` (DER, kept current by the operator).
enum class OcspMode : std::uint8_t { kAuto, kOff, kFile };

struct TlsCertificate {
  std::string cert;  // PEM chain, leaf first
  std::string key;   // PEM private key (ECDSA or RSA)
  OcspMode ocsp = OcspMode::kAuto;
  std::string ocsp_file;  // set with kFile
};

enum class ClientCertMode : std::uint8_t { kOff, kOptional, kRequired };

// Named TLS profiles after Mozilla's server-side TLS guidance (issue 14). `intermediate` (the
// default) offers TLS 1.2 with forward-secret AEAD suites only, and 1.3; `modern` offers 1.3 only.
enum class TlsProfile : std::uint8_t { kIntermediate, kModern };

struct ListenerTls {
  Origin origin;
  std::vector<TlsCertificate> certificates;  // the first is the default; others chosen by SNI
  TlsProfile profile = TlsProfile::kIntermediate;
  int min_version = 12;  // 12 or 13: the profile's unless set explicitly
  std::string ciphers;   // TLS 1.2 suites (OpenSSL syntax); empty: the profile's
  ClientCertMode client_cert = ClientCertMode::kOff;
  std::string client_ca;  // PEM bundle; required unless client_cert is off
  std::string crl;        // optional PEM CRL(s) for the client CA
  int verify_depth = 4;
  bool session_tickets = true;
  bool alpn_h2 = false;  // set from the listener's http2.enabled: offer h2 before http/1.1
};

// HTTP/2 on a listener (issue 3): ALPN h2 on TLS listeners, prior-knowledge h2c on cleartext ones.
// Streams go through the same routes, gates and upstream pools as HTTP/1.1 requests.
struct ListenerHttp2 {
  bool enabled = true;
  std::uint32_t max_concurrent_streams = 128;
  std::uint32_t initial_stream_window = 256 * 1024;  // bytes a stream may send before we read
  std::uint32_t connection_window = 1024 * 1024;
  std::uint32_t max_header_table = 4096;  // HPACK dynamic table, both directions
  // Rapid reset (CVE-2023-44487): a token bucket over the client's RST_STREAM frames.
  std::uint32_t reset_burst = 200;
  std::uint32_t resets_per_second = 50;
  // CONTINUATION frames after one HEADERS frame (CVE-2024-27316 class floods).
  std::uint32_t max_continuations = 8;
  // PING, SETTINGS and PRIORITY frames from the client per second (ping/settings floods).
  std::uint32_t max_control_frames_per_second = 100;
};

// Connection caps judged at accept (gates/connection_limits): 0 = no cap.
struct ListenerConnections {
  std::uint64_t max_connections = 0;  // open at once on the listener, all clients together
  std::uint32_t max_per_source = 0;   // open at once per client address
  Rate rate_per_source;               // new connections per client address
  double burst_per_source = 0;        // the rate's bucket; 0: one second's worth (at least 1)
  int ipv6_prefix = 64;               // IPv6 clients are counted by this network
};

struct Listener {
  Origin origin;
  std::string name;
  std::string address;  // host:port as written
  std::string host;
  std::uint16_t port = 0;
  CidrSet trusted_proxies;
  // Where the client's address comes from when the peer is a trusted proxy (issue 14).
  http::ClientIpHeader client_ip_header = http::ClientIpHeader::kXForwardedFor;
  // PROXY protocol v1/v2 before anything else on the connection, from these sources only.
  bool proxy_protocol = false;
  CidrSet proxy_protocol_from;
  ListenerConnections connections;
  // Allow/deny lists judged at accept (gates/ip_list): a denied client is closed, no byte sent.
  std::optional<ip_list::IpListSpec> ip_list;
  Origin ip_list_origin;
  ListenerLimits limits;
  std::optional<ListenerTls> tls;
  ListenerHttp2 http2;
};

struct HeaderMatch {
  std::string name;
  std::optional<std::string> exact;
  std::optional<std::string> regex;
  bool present = true;  // false: matches when the header is absent
};

struct RouteMatch {
  std::vector<std::string> hosts;  // exact or "*.example.com"; empty = any
  std::optional<std::string> path;
  std::optional<std::string> path_prefix;
  std::optional<std::string> path_regex;
  std::vector<std::string> methods;  // empty = any
  std::vector<HeaderMatch> headers;
};

struct HeaderRules {
  std::vector<std::pair<std::string, std::string>> add;  // appended, in order
  std::vector<std::string> remove;                       // lower-case names
};

struct GateSpec {
  Origin origin;
  std::string kind;
  YAML::Node settings;  // read by the gate's factory (pipeline/gate_registry.h)
};

// WebSocket pass-through on a route (off unless configured).
struct WebSocketConfig {
  bool enabled = false;
  microseconds idle_timeout = std::chrono::seconds(60);  // no frame either way: close both
};

// What a route answers when its upstream cannot take the request (`fallback`).
struct RouteFallback {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;       // inline
  std::string body_file;  // or read from this file at load (relative to the config file)
  // When: circuit_open, no_endpoint, overloaded, timeout (the deadline or the upstream's), and
  // unavailable (the upstream failed before anything of the request reached it).
  std::vector<std::string> on = {"circuit_open", "no_endpoint", "overloaded", "timeout"};
};

struct Route {
  Origin origin;
  std::string name;
  RouteMatch match;
  std::string upstream;
  std::optional<std::string> host_rewrite;
  std::optional<std::string> path_prefix_rewrite;
  HeaderRules request_headers;
  HeaderRules response_headers;
  std::vector<GateSpec> gates;
  bool explicit_gate_order = false;
  WebSocketConfig websocket;
  // A second upstream tried when the first cannot take the request (its breaker is open, its
  // bulkhead full, no endpoint up, or every attempt failed before any of the request left).
  std::string fallback_upstream;
  std::optional<RouteFallback> fallback;
  // Overrides the listener's limits.buffer_request_body for this route (also for gRPC).
  std::optional<std::uint64_t> buffer_request_body;
  microseconds timeout{0};     // the whole exchange's upstream deadline; 0: none
  std::string timeout_header;  // a request header (milliseconds) that may shorten it
};

enum class LoadBalancer { kRoundRobin, kLeastRequest, kRingHash, kMaglev };

// What consistent hashing hashes (ring_hash, maglev).
struct HashOn {
  enum class Kind : std::uint8_t { kNone, kHeader, kCookie, kClientAddress, kPath };
  Kind kind = Kind::kNone;
  std::string name;  // header or cookie name
};

// What rampart speaks to an upstream: HTTP/1.1 (keep-alive pool), or HTTP/2 (multiplexed
// sessions; TLS with ALPN h2, or cleartext h2c with prior knowledge), which gRPC needs.
enum class UpstreamProtocol { kHttp1, kHttp2 };

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string address;  // "host:port" as written
  bool backup = false;  // from backup_endpoints: only while no primary is up
  std::uint32_t weight = 1;
};

// TLS to the upstream's endpoints: certificate verification is always on.
struct UpstreamTls {
  Origin origin;
  std::string ca;           // PEM bundle; empty = the system's trusted CAs
  std::string server_name;  // SNI and the name verified; empty = each endpoint's host
  std::string cert;         // client certificate (mTLS to the upstream), with key
  std::string key;
  int min_version = 12;
};

struct Upstream {
  Origin origin;
  std::string name;
  std::vector<Endpoint> endpoints;
  LoadBalancer load_balancer = LoadBalancer::kRoundRobin;
  HashOn hash_on;
  microseconds connect_timeout = 1s;
  microseconds response_timeout = 30s;  // from request sent to response head received
  microseconds idle_timeout = 60s;      // pooled keep-alive connection
  // An endpoint drained (admin API) or removed by a reload: its requests still in flight are
  // cut after this long; 0 lets them run to their own timeouts.
  microseconds drain_timeout = 30s;
  std::uint32_t max_idle_per_endpoint = 64;  // per worker
  std::optional<UpstreamTls> tls;
  UpstreamProtocol protocol = UpstreamProtocol::kHttp1;
  int protocol_line = 0;  // where `protocol` was set, for errors that involve it
  // `policies: [- <kind>: {settings}]`, built by their registered factories
  // (upstream/policy_registry.h) in this order.
  std::vector<GateSpec> policies;
};

struct AccessLog {
  bool enabled = true;
  std::string path = "stdout";  // "stdout", "stderr" or a file path
};

struct Admin {
  std::string address = "127.0.0.1:9901";
  std::string host = "127.0.0.1";
  std::uint16_t port = 9901;
  bool enabled = true;
};

// Shared state (rate-limit buckets, ...): the in-process store, and Redis for several instances.
struct RedisConfig {
  Origin origin;
  std::string address;  // host:port as written
  std::string host;
  std::uint16_t port = 6379;
  std::string password;  // never logged
  int database = 0;
  microseconds timeout = std::chrono::milliseconds(50);
  microseconds reconnect_interval = std::chrono::milliseconds(500);
};

struct StateConfig {
  std::uint64_t max_keys = 1'000'000;  // per limit, in-process
  std::optional<RedisConfig> redis;
};

struct Config {
  std::string file;
  // `path` as written in this config: relative paths are relative to the config file's folder.
  std::string Resolve(const std::string& path) const {
    if (path.empty() || path.front() == '/') return path;
    const auto slash = file.rfind('/');
    return slash == std::string::npos ? path : file.substr(0, slash + 1) + path;
  }
  int workers = 0;  // 0 = one per core
  microseconds drain_timeout = 15s;
  microseconds busy_poll = 30us;  // longest adaptive polling window of an idle worker; 0 = off
  // Repeat offenders shut out at accept (gates/blackhole); absent: off.
  std::optional<gates::BlackholeSettings> blackhole;
  // The gateway-wide adaptive concurrency limit (upstream/adaptive_concurrency): the policy's
  // settings, applied after each upstream's own policies with one state for all; absent: off.
  std::optional<GateSpec> adaptive_concurrency;
  std::string request_id_header = "x-request-id";
  std::string via = "rampart";
  std::vector<Listener> listeners;
  std::vector<Route> routes;
  std::map<std::string, Upstream> upstreams;
  AccessLog access_log;
  Admin admin;
  StateConfig state;
};

struct ConfigError {
  std::string file;
  int line = 0;
  std::string message;
  std::string ToString() const;
};

struct LoadResult {
  std::optional<Config> config;  // set only when errors is empty
  std::vector<ConfigError> errors;
};

LoadResult LoadConfigFile(const std::string& path);
LoadResult LoadConfigText(const std::string& text, const std::string& file_name);

// Splits "host:port" or "[v6]:port". Returns false when malformed.
bool SplitHostPort(std::string_view s, std::string& host, std::uint16_t& port);

}  // namespace rampart::config
