// An upstream as a config snapshot holds it: endpoints resolved to addresses, policies, stats.
#pragma once

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "observe/metrics.h"
#include "upstream/endpoint_health.h"
#include "upstream/hash_balancer.h"
#include "upstream/policy.h"

namespace rampart::upstream {

struct EndpointSpec {
  std::string key;  // "host:port" as configured; names the per-worker connection pool
                    // (TLS upstreams: "tls:<upstream>@host:port", cleartext HTTP/2 ones
                    // "h2c:<upstream>@host:port": never shared)
  boost::asio::ip::tcp::endpoint address;
  std::string tls_name;      // TLS: SNI and the name the certificate must carry
  std::string address_text;  // "ip:port", for the admin API and logs
};

// A cap on the HTTP/1.1 connections in use to an upstream from every worker (bulkhead
// max_connections): a stream holds a place while it has a connection (new or pooled), from
// before its connect to its end. Idle pooled connections hold none, so one worker's idle pool
// never starves another worker; they are bounded by the pool. Kept across reloads (the limit
// lives in state::Stores while its number stays the same).
struct ConnectionLimit {
  explicit ConnectionLimit(std::int64_t m) : max(m) {}
  bool TryTake() noexcept {
    if (open.fetch_add(1, std::memory_order_relaxed) < max) return true;
    open.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  void Give() noexcept { open.fetch_sub(1, std::memory_order_relaxed); }
  const std::int64_t max;
  std::atomic<std::int64_t> open{0};
};

struct UpstreamSpec {
  std::string name;
  std::vector<EndpointSpec> endpoints;
  config::LoadBalancer load_balancer = config::LoadBalancer::kRoundRobin;
  // Weights (all 1 unless configured): round robin follows `wrr_order` (nginx's smooth weighted
  // round robin, one cycle), least request compares in-flight counts divided by weight.
  std::vector<std::uint32_t> weights;
  bool weighted = false;
  std::vector<std::uint32_t> wrr_order;
  // ring_hash or maglev: the table and what the key is.
  std::shared_ptr<const HashBalancer> hash;
  config::HashOn hash_on;
  std::chrono::microseconds connect_timeout{};
  std::chrono::microseconds response_timeout{};
  std::chrono::microseconds idle_timeout{};
  std::chrono::microseconds drain_timeout{};  // 0: requests to a drained endpoint are never cut
  std::uint32_t max_idle_per_endpoint = 0;
  observe::UpstreamStats* stats = nullptr;
  std::shared_ptr<boost::asio::ssl::context> tls;  // set: connections are TLS
  bool http2 = false;  // multiplexed HTTP/2 sessions (ALPN h2 on TLS, else h2c prior knowledge)
  // Which endpoints may take requests now (health checks, ejection, draining, backups); always
  // set by the snapshot builder, null only in tests that build a spec by hand.
  std::shared_ptr<EndpointHealth> health;
  std::shared_ptr<ConnectionLimit> connection_limit;  // set by a bulkhead with max_connections
  // Consulted around every attempt, in configuration order (policy_registry.h).
  std::vector<std::shared_ptr<Policy>> policies;
};

}  // namespace rampart::upstream
