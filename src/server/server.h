// The process: loads config, binds listeners, starts the workers, and runs the control loop
// (admin API, SIGHUP/POST reloads, SIGTERM drain) on the calling thread.
#pragma once

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_server.h"
#include "gates/blackhole/blackhole_sync.h"
#include "net/loop_context.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "pipeline/gate_registry.h"
#include "server/ocsp_refresher.h"
#include "server/snapshot.h"
#include "server/worker.h"
#include "state/stores.h"
#include "upstream/http_client.h"

namespace rampart::server {

class Server {
 public:
  explicit Server(std::string config_path);
  ~Server();
  // Blocks until the process should exit; returns its exit code.
  int Run();

 private:
  bool BindListener(const config::Listener& l, std::vector<boost::asio::ip::tcp::acceptor>& out,
                    std::string* error);
  // Reload from the config file; on failure the running snapshot stays. Returns a JSON report.
  admin::AdminResponse Reload();
  boost::asio::awaitable<admin::AdminResponse> HandleAdmin(admin::AdminRequest request);
  // The endpoints gates added to the running snapshot, run on worker 0's loop.
  boost::asio::awaitable<admin::AdminResponse> RunActions(
      std::shared_ptr<const Snapshot> snap, const std::vector<admin::AdminActions::Entry>& actions,
      const admin::AdminRequest& request);
  void BeginDrain();
  boost::asio::awaitable<void> WatchCertificates();
  // Starts, moves or stops sharing blackholes through Redis as the current config says.
  void ShareBlackholes();
  void RenderTlsMetrics(std::string& out) const;
  std::string DescribeCertificates() const;
  // GET /admin/upstreams: each upstream, its endpoints, attempt and error counts, and what its
  // policies say of themselves (a circuit breaker's state).
  std::string DescribeUpstreams() const;
  // POST /admin/upstreams/NAME/endpoints/ADDRESS/drain (or undrain): no new requests go to the
  // endpoint, its idle pooled connections close, its in-flight requests finish.
  admin::AdminResponse DrainEndpoint(const admin::AdminRequest& request);
  boost::asio::awaitable<void> WaitForDrain(std::chrono::steady_clock::time_point deadline);
  // After `after`, while `still()` holds, every worker cuts the requests it still has in flight
  // to endpoint `key` of upstream `upstream` (its drain timed out).
  // `owner` set: only that upstream's requests (an admin drain; another upstream may list the
  // same address).
  void CutAfterDrain(std::string upstream, std::string key, std::chrono::microseconds after,
                     std::function<bool()> still, const void* owner = nullptr);

  std::string config_path_;
  boost::asio::io_context control_{1};
  net::LoopContext control_loop_{control_, 16 * 1024, 64};
  std::unique_ptr<observe::Metrics> metrics_;
  // Runs on the control loop: gates' outbound fetches (JWKS, health checks, ...).
  std::unique_ptr<upstream::HttpClient> client_;
  std::unique_ptr<OcspRefresher> ocsp_;  // staples fetched with client_
  Services services_;
  gates::ConnectionLimiters connection_limiters_;         // outlives every snapshot
  gates::Blackhole blackhole_;                            // the same
  std::unique_ptr<gates::BlackholeSync> blackhole_sync_;  // blackhole.shared: on control_
  std::vector<std::unique_ptr<Worker>> workers_;
  // After workers_: destroyed first, while the workers' event loops (which own its Redis
  // connections) still exist.
  std::unique_ptr<state::Stores> stores_;
  std::shared_ptr<const Snapshot> snap_;
  std::shared_ptr<observe::AccessLog> access_log_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::map<std::string, std::string> bound_;  // listener name -> address
  std::uint64_t generation_ = 0;
  bool draining_ = false;
  int exit_code_ = 0;
};

}  // namespace rampart::server
