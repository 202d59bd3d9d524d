// The type of every TLS connection, client side and upstream: asio::ssl over a TCP socket whose
// reads take the drained path (net/drained_recv.h).
#pragma once

#include <boost/asio/ssl/stream.hpp>

#include "net/drained_recv.h"

namespace rampart::net {

using TlsStream = boost::asio::ssl::stream<DrainedStream>;

}  // namespace rampart::net
