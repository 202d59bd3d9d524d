// What the forwarding driver reads from the configuration snapshot it runs on.
#pragma once

#include <string_view>

#include "gates/blackhole/blackhole.h"
#include "observe/metrics.h"
#include "pipeline/router.h"

namespace rampart {

struct Site {
  const Router* router = nullptr;
  std::string_view via;                                        // pseudonym for Via, e.g. "rampart"
  std::string_view request_id_header;                          // lower case
  observe::RouteStats* unrouted_stats = nullptr;               // requests that matched no route
  const observe::LocalReplyCounters* local_replies = nullptr;  // by reason token
  // Repeat offenders (top-level `blackhole`): null when off.
  gates::Blackhole* blackhole = nullptr;
  const gates::BlackholeSettings* blackhole_settings = nullptr;
};

}  // namespace rampart
