// A gate: one security or reliability check on the request path. Built once per config snapshot,
// immutable, shared by all workers; methods are noexcept and must not block.
//
// Call order per exchange: OnRequestHeaders (in gate order) -> [upstream] -> OnResponseHeaders
// (reverse order, only for gates whose OnRequestHeaders ran) -> OnComplete (every gate that ran,
// also for local replies).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "pipeline/decision.h"
#include "pipeline/exchange.h"

namespace rampart {

class Gate {
 public:
  virtual ~Gate() = default;
  virtual std::string_view Name() const noexcept = 0;

  // The synchronous path: most gates decide from memory and return here without allocating.
  virtual Decision OnRequestHeaders(Exchange&) noexcept { return Decision::Continue(); }

  // Gates that must wait for I/O (a shared store, a key server) return true from is_async() and
  // implement OnRequestHeadersAsync; the chain then awaits it instead of calling the sync path.
  virtual bool is_async() const noexcept { return false; }
  virtual boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept {
    co_return OnRequestHeaders(ex);
  }

  virtual void OnResponseHeaders(Exchange&) noexcept {}
  virtual void OnComplete(const Exchange&) noexcept {}
};

}  // namespace rampart
