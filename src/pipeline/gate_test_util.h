// For unit tests of gates: a phase run as the driver runs it (the synchronous call, then the
// asynchronous one when the gate asks with Decision::Await()), on a private event loop.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "pipeline/gate.h"

namespace rampart::testing {

template <typename Async>
Decision AwaitDecision(Async&& async) {
  boost::asio::io_context io;
  Decision out;
  boost::asio::co_spawn(io, async(), [&](std::exception_ptr, Decision d) { out = std::move(d); });
  io.run();
  return out;
}

inline Decision RunRequestPhase(Gate& g, Exchange& ex) {
  Decision d = g.OnRequestHeaders(ex);
  if (d.kind != Decision::Kind::kAwait) return d;
  return AwaitDecision([&] { return g.OnRequestHeadersAsync(ex); });
}

inline Decision RunResponsePhase(Gate& g, Exchange& ex) {
  Decision d = g.OnResponseHeaders(ex);
  if (d.kind != Decision::Kind::kAwait) return d;
  return AwaitDecision([&] { return g.OnResponseHeadersAsync(ex); });
}

}  // namespace rampart::testing
