// What one worker keeps per upstream endpoint: HTTP/1.1 keep-alive connections, HTTP/2
// sessions, round-robin positions, and the random source for least_request. Used by that
// worker's thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>

#include "upstream/connection_pool.h"
#include "upstream/http2_session.h"

namespace rampart::upstream {

struct WorkerPools {
  explicit WorkerPools(boost::asio::io_context& io) : http1(io) {}
  ConnectionPool http1;
  Http2Sessions http2;
  std::map<std::string, std::uint64_t, std::less<>> rr;  // by upstream name
  std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t& rr_position(const std::string& upstream) { return rr[upstream]; }
};

}  // namespace rampart::upstream
