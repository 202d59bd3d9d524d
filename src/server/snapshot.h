// An immutable, fully validated view of one configuration: compiled routes and gates, resolved
// upstreams. Workers hold it by shared_ptr; a reload builds a new one and swaps it in, and
// requests finish on the snapshot they started with.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin_actions.h"
#include "config/config.h"
#include "downstream/http2_counters.h"
#include "downstream/listener_counters.h"
#include "gates/connection_limits/connection_limiter.h"
#include "gates/ip_list/ip_list.h"
#include "net/tls/server_tls.h"
#include "observe/metrics.h"
#include "pipeline/gate_registry.h"
#include "pipeline/router.h"
#include "pipeline/site.h"
#include "state/stores.h"
#include "upstream/upstream_spec.h"

namespace rampart::server {

struct Snapshot {
  config::Config config;
  Router router;
  std::map<std::string, std::unique_ptr<upstream::UpstreamSpec>, std::less<>> upstreams;
  std::uint64_t generation = 0;
  observe::RouteStats* unrouted_stats = nullptr;  // requests that matched no route
  // TLS listeners by name: their current certificates, swapped when the files change.
  std::map<std::string, std::shared_ptr<tls::TlsSlot>, std::less<>> tls;
  // Listeners that serve HTTP/2, by name: their counters.
  std::map<std::string, downstream::Http2Counters, std::less<>> http2;
  // Every listener by name: what its connections meet before any request (PROXY protocol,
  // connection caps), with their counters.
  struct ListenerEdge {
    downstream::ListenerCounters counters;
    std::shared_ptr<gates::ConnectionLimiter> limiter;  // the same one across reloads
    std::shared_ptr<ip_list::IpList> ip_list;           // null: none
  };
  std::map<std::string, ListenerEdge, std::less<>> listener_edges;
  observe::LocalReplyCounters local_replies;
  // What the forwarding driver reads of this snapshot (points into it).
  Site site;
  // Admin endpoints the gates added (revocations, keys, sessions).
  admin::AdminActions admin;

  const config::Listener* FindListener(std::string_view name) const noexcept;
};

struct BuildResult {
  std::shared_ptr<const Snapshot> snapshot;
  std::vector<config::ConfigError> errors;
};

// Loads, validates and compiles. `metrics` provides the stats families and `stores` the shared
// state (both kept across reloads); `services` what gates may use at run time.
BuildResult BuildSnapshot(config::LoadResult loaded, observe::Metrics& metrics,
                          state::Stores& stores, Services& services, std::uint64_t generation);

}  // namespace rampart::server
