// The end of one exchange, whichever protocol carried it: route statistics and the JSON access
// log line.
#pragma once

#include <cstdint>
#include <string_view>

#include "net/loop_context.h"
#include "observe/access_log.h"
#include "pipeline/exchange_state.h"
#include "pipeline/site.h"

namespace rampart {

struct ConnectionInfo {
  std::string_view peer_ip;
  std::uint16_t peer_port = 0;
  std::string_view listener;
  std::string_view protocol;  // "HTTP/1.1", "HTTP/2"
};

// Records `status` in the route's (or the unrouted) statistics and writes the access log line;
// `reason` is a token for exchanges that ended early ("upstream_aborted", "client_reset", ...).
void FinishExchange(net::LoopContext& loop, int worker, const Site* site, observe::AccessLog* log,
                    ExchangeState& st, const ConnectionInfo& conn, int status,
                    std::string_view reason);

}  // namespace rampart
