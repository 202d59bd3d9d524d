// A new connection to an upstream endpoint: TCP connect, then the TLS handshake on TLS
// upstreams, both bounded by the upstream's connect_timeout.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "http/exchange_error.h"
#include "net/deadline.h"
#include "net/loop_context.h"
#include "upstream/connection_pool.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

// `dl` is armed here with kConnect; its owner's tick cancels conn.socket when it passes.
boost::asio::awaitable<http::ExchangeError> Connect(net::LoopContext& loop, const UpstreamSpec& up,
                                                    const EndpointSpec& ep,
                                                    UpstreamConnection& conn, net::Deadline& dl);

}  // namespace rampart::upstream
