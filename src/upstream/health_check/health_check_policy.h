// The health_check upstream policy: active checks of every endpoint, off the request path. One
// prober per upstream per process runs on the control thread with the outbound client, over the
// upstream's own address and TLS settings: an HTTP request (method, path, Host, expected
// statuses, a body substring) or a TCP connect (with the TLS handshake when the upstream uses
// TLS). An endpoint turns unhealthy after `unhealthy_threshold` failed checks in a row and
// healthy after `healthy_threshold` passed ones; workers read the result lock-free from the
// endpoint membership table (endpoint_health.h), which keeps it across reloads. See README.md.
#pragma once

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/fields.h"
#include "observe/metrics.h"
#include "upstream/endpoint_health.h"
#include "upstream/policy.h"
#include "upstream/policy_registry.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream::health {

struct HealthCheckConfig {
  enum class Type : std::uint8_t { kHttp, kTcp };
  Type type = Type::kHttp;
  std::string method = "GET";
  std::string path = "/";
  std::string host;                // Host header; empty: the endpoint as configured
  std::vector<int> expect_status;  // empty: any 2xx or 3xx
  std::string expect_body;         // a substring the body must contain; empty: any
  std::chrono::microseconds interval{5'000'000};
  double jitter = 0.1;  // each wait varies by up to this share either way
  std::chrono::microseconds timeout{2'000'000};
  std::uint32_t unhealthy_threshold = 3;
  std::uint32_t healthy_threshold = 2;
  bool start_healthy = true;
};

const config::Fields<HealthCheckConfig>& HealthCheckFields();

// One check's result applied to an endpoint: +1 when it turned healthy, -1 when it turned
// unhealthy, 0 when nothing changed.
int Apply(EndpointState& e, bool passed, const HealthCheckConfig& c) noexcept;

// Whether a response passes: its status expected and the body substring found.
bool Passes(const HealthCheckConfig& c, int status, std::string_view body) noexcept;

// The checks of one upstream's endpoints: one loop per endpoint on the control executor, each
// holding only a weak reference (a prober no snapshot holds stops at its next wake).
class Prober : public std::enable_shared_from_this<Prober> {
 public:
  struct Counters {  // written by the control thread only
    std::atomic<std::uint64_t> passed{0};
    std::atomic<std::uint64_t> failed{0};
    std::atomic<std::uint64_t> to_healthy{0};
    std::atomic<std::uint64_t> to_unhealthy{0};
  };
  Prober(HealthCheckConfig config, UpstreamSpec spec, std::vector<std::string> hosts,
         Services services, std::shared_ptr<Counters> counters);
  void Start();
  const HealthCheckConfig& config() const noexcept { return config_; }

 private:
  static boost::asio::awaitable<void> Run(std::weak_ptr<Prober> weak, std::size_t endpoint);
  boost::asio::awaitable<bool> Check(std::size_t endpoint);
  std::chrono::microseconds Wait() noexcept;

  HealthCheckConfig config_;
  UpstreamSpec spec_;               // a copy: the prober may outlive the snapshot's by one check
  std::vector<std::string> hosts_;  // Host for each endpoint
  Services services_;
  std::shared_ptr<Counters> counters_;
  std::uint64_t id_;
};

class HealthCheckPolicy final : public Policy {
 public:
  explicit HealthCheckPolicy(std::shared_ptr<Prober> prober) : prober_(std::move(prober)) {}
  std::string_view Name() const noexcept override { return "health_check"; }
  void Describe(std::string& out) const override;

 private:
  std::shared_ptr<Prober> prober_;
};

std::shared_ptr<Policy> MakeHealthCheck(const YAML::Node& settings, PolicyContext& ctx);

}  // namespace rampart::upstream::health
