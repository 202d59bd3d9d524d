// Runs a route's gates for one exchange. Gates that decide from memory run without suspending;
// the coroutine is entered only when the route has gates.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstddef>

#include "pipeline/decision.h"
#include "pipeline/router.h"

namespace rampart {

// Runs OnRequestHeaders in order until one does not continue; `ran` counts the gates that ran
// (those get OnResponseHeaders and OnComplete). Notes every refusal on the exchange.
boost::asio::awaitable<Decision> RunRequestGates(const CompiledRoute& route, Exchange& ex,
                                                 std::size_t& ran);
// Reverse order, the gates that ran.
void RunResponseGates(const CompiledRoute& route, Exchange& ex, std::size_t ran) noexcept;
void RunCompleteGates(const CompiledRoute& route, const Exchange& ex, std::size_t ran) noexcept;

}  // namespace rampart
