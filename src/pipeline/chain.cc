#include "pipeline/chain.h"

namespace rampart {

boost::asio::awaitable<Decision> RunRequestGates(const CompiledRoute& route, Exchange& ex,
                                                 std::size_t& ran) {
  ran = 0;
  for (const auto& gate : route.gates) {
    ++ran;
    // No co_await inside ?: here: GCC 12 destroys the temporary of such an expression twice.
    Decision d;
    if (gate->is_async()) {
      d = co_await gate->OnRequestHeadersAsync(ex);
    } else {
      d = gate->OnRequestHeaders(ex);
    }
    if (!d.is_continue()) {
      // A gate may have noted its refusal itself, with a detail.
      if (ex.notes.empty() || ex.notes.back().gate != gate->Name()) {
        ex.notes.push_back({gate->Name(), d.reason, {}});
      }
      co_return d;
    }
  }
  co_return Decision::Continue();
}

void RunResponseGates(const CompiledRoute& route, Exchange& ex, std::size_t ran) noexcept {
  for (std::size_t i = ran; i-- > 0;) route.gates[i]->OnResponseHeaders(ex);
}

void RunCompleteGates(const CompiledRoute& route, const Exchange& ex, std::size_t ran) noexcept {
  for (std::size_t i = ran; i-- > 0;) route.gates[i]->OnComplete(ex);
}

}  // namespace rampart
