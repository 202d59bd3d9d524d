// The idempotency gate: a request with an Idempotency-Key reaches the origin once per key; a
// repeat gets the stored answer, a concurrent duplicate 409 (or waits for the first), the same
// key on another request 422. Records live in the key-value store (in process, or Redis across
// instances) under a lease with a fencing token. See README.md.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "gates/idempotency/idempotency_config.h"
#include "gates/idempotency/sealer.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"
#include "state/kv/kv_store.h"

namespace rampart::idempotency {

// What the gate shares with the writes it leaves running after an exchange ends (the record is
// stored once the response has gone): everything but the exchange.
struct Core {
  IdempotencyConfig config;
  std::string route;
  std::shared_ptr<state::KvStore> store;
  Sealer sealer;
  observe::OutcomeCounters counters;
  std::function<SteadyTime()> clock = [] { return std::chrono::steady_clock::now(); };
  // Unix milliseconds: when an answer came, as other instances read it.
  std::function<std::int64_t()> wall = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
};

struct Held;  // what one exchange holds between phases

class IdempotencyGate final : public Gate {
 public:
  explicit IdempotencyGate(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  std::string_view Name() const noexcept override { return "idempotency"; }
  GateNeeds Needs() const noexcept override;
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  Decision OnRequestBody(Exchange& ex, std::string_view body, bool complete) noexcept override;
  boost::asio::awaitable<Decision> OnRequestBodyAsync(Exchange& ex, std::string_view body,
                                                      bool complete) noexcept override;
  Decision OnResponseHeaders(Exchange& ex) noexcept override;
  boost::asio::awaitable<Decision> OnResponseHeadersAsync(Exchange& ex) noexcept override;
  void OnResponseBody(Exchange& ex, std::string_view piece, bool end) noexcept override;
  void OnComplete(const Exchange& ex, const Completion& c) noexcept override;

 private:
  Decision Refuse(Exchange& ex, std::uint16_t status, std::string_view reason,
                  std::string_view outcome, std::string message, std::string headers = {}) const;
  void Note(Exchange& ex, std::string_view outcome) const;
  // The record that ends a holder's lease once its answer is whole (or cut short): the stored
  // answer, or completed without replay.
  std::string Final(const Exchange& ex, Held& h, bool& no_replay) const;

  std::shared_ptr<const Core> core_;
};

std::unique_ptr<Gate> MakeIdempotencyGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::idempotency
