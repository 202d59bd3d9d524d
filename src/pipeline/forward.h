// The one forwarding path: every exchange, whichever protocols carry it on either side, runs
//   route -> request gates -> request body (held when a gate asks) -> upstream attempts ->
//   response gates -> response body -> completion
// here. The codecs (downstream/) only translate bytes to the Exchange and back; the upstream
// streams (upstream/) only carry one attempt each. docs/life_of_a_request.md walks through it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "config/config.h"
#include "net/loop_context.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "pipeline/downstream.h"
#include "pipeline/exchange_log.h"
#include "pipeline/exchange_state.h"
#include "pipeline/site.h"
#include "upstream/opener.h"
#include "upstream/worker_pools.h"

namespace rampart {

// Runs copies of exchanges in the background on the worker's loop (Exchange::refresh_gate):
// the copy keeps what it needs of the original, which may end first.
class BackgroundSpawner {
 public:
  virtual ~BackgroundSpawner() = default;
  // A copy of `ex` (method, target, fields, client, identity, upstream headers), marked
  // background, starting at gate `ex.refresh_gate` of its route, on the snapshot whose site
  // `site` is. Refused (false) when too many run already, or when that snapshot is no longer
  // the current one (a reload: the route and its gates may have changed).
  virtual bool Spawn(const Exchange& ex, const Site& site, std::string_view client_ip) noexcept = 0;
};

// Where an exchange runs: its worker's loop, pools and counters, and the snapshot's site.
struct ForwardEnv {
  net::LoopContext& loop;
  int worker = 0;
  const Site& site;
  observe::WorkerSlot& stats;
  observe::AccessLog* log = nullptr;
  upstream::WorkerPools& pools;
  ConnectionInfo conn;         // for the access log
  std::string_view client_ip;  // for X-Forwarded-For
  // Opens the attempts' streams; null: the worker's pools (ExchangeState::connector).
  upstream::Opener* opener = nullptr;
  // The listener's limits the exchange still applies (Range abuse); null: the defaults.
  const config::ListenerLimits* limits = nullptr;
  // Background copies of exchanges (a cache's refresh); null: none are made.
  BackgroundSpawner* background = nullptr;
};

// Runs one exchange whose request head the codec has parsed and checked into `st.ex`, to its
// end: the client gets an answer (or the stream is reset), every gate that ran gets OnComplete
// exactly once, and the exchange is counted and logged.
boost::asio::awaitable<void> Forward(Downstream& d, ExchangeState& st, ForwardEnv& env);

// An exchange the codec refuses after its head (a bad authority, a malformed HTTP/2 head):
// rampart's JSON error, counted and logged like any other answer; no route, no gates.
boost::asio::awaitable<void> Refuse(Downstream& d, ExchangeState& st, ForwardEnv& env, int status,
                                    std::string_view reason, std::string_view message);

}  // namespace rampart
