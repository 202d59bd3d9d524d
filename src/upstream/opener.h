// Opens the stream of one attempt. The forwarding driver asks an Opener; the real one
// (Connector) takes pooled HTTP/1.1 connections or HTTP/2 session streams, and the driver's unit
// tests script one.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstddef>
#include <optional>

#include "http/exchange_error.h"
#include "net/deadline.h"
#include "net/loop_context.h"
#include "upstream/http1_stream.h"
#include "upstream/http2_stream.h"
#include "upstream/stream.h"
#include "upstream/upstream_spec.h"
#include "upstream/worker_pools.h"

namespace rampart::upstream {

class Opener {
 public:
  virtual ~Opener() = default;
  // A stream to `up.endpoints[endpoint]`, or null with `error`. The previous attempt's stream
  // has ended. `wake`: a timer the caller waits on for both directions at once (duplex).
  virtual boost::asio::awaitable<Stream*> Open(const UpstreamSpec& up, std::size_t endpoint,
                                               boost::asio::steady_timer* wake,
                                               http::ExchangeError& error) = 0;
  // The same without waiting, when it can be had at once (an idle pooled connection, a ready
  // session): the common case then needs no coroutine frame. Null: call Open.
  virtual Stream* OpenNow(const UpstreamSpec& up, std::size_t endpoint,
                          boost::asio::steady_timer* wake) {
    (void)up, (void)endpoint, (void)wake;
    return nullptr;
  }
};

// The worker's pools and sessions. One per exchange (its streams live in it, no allocation).
class Connector final : public Opener {
 public:
  Connector(net::LoopContext& loop, WorkerPools& pools, int worker, net::Deadline& dl,
            StreamBuffers bufs)
      : loop_(loop), pools_(pools), worker_(worker), dl_(dl), bufs_(bufs) {}

  boost::asio::awaitable<Stream*> Open(const UpstreamSpec& up, std::size_t endpoint,
                                       boost::asio::steady_timer* wake,
                                       http::ExchangeError& error) override;
  Stream* OpenNow(const UpstreamSpec& up, std::size_t endpoint,
                  boost::asio::steady_timer* wake) override;

 private:
  // The attempt's stream, made (not yet connected) for `up.endpoints[endpoint]`.
  Stream& Make(const UpstreamSpec& up, std::size_t endpoint, boost::asio::steady_timer* wake);

  net::LoopContext& loop_;
  WorkerPools& pools_;
  int worker_;
  net::Deadline& dl_;
  StreamBuffers bufs_;
  // Counts the attempt in flight on its endpoint (least_request), whatever carries it.
  std::optional<ConnectionPool::ActiveRequest> active_;
  std::optional<Http1Stream> h1_;
  std::optional<Http2Stream> h2_;
};

}  // namespace rampart::upstream
