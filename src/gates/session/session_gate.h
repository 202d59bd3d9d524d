// The session gate: server-side sessions in the key-value store behind an opaque cookie. A
// configured login upstream names the principal in a response header; rampart makes a session of
// it, sets the cookie, and strips the header. See README.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gates/session/session_config.h"
#include "gates/session/session_record.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"
#include "state/kv/kv_store.h"

namespace rampart::session {

// Milliseconds since the Unix epoch; tests substitute their own.
using WallMillis = std::int64_t (*)();
std::int64_t SystemMillis() noexcept;

class SessionGate final : public Gate {
 public:
  SessionGate(SessionConfig config, std::shared_ptr<state::KvStore> store,
              observe::OutcomeCounters counters, WallMillis clock);
  std::string_view Name() const noexcept override { return "session"; }
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override;
  Decision OnResponseHeaders(Exchange& ex) noexcept override;
  boost::asio::awaitable<Decision> OnResponseHeadersAsync(Exchange& ex) noexcept override;

  // The Set-Cookie line for `id` (empty: one that clears the cookie).
  std::string CookieLine(std::string_view id) const;

 private:
  std::string_view SessionId(const Exchange& ex, int& seen) const noexcept;
  Decision Refuse(Exchange& ex, std::string_view reason) const;
  void Count(const Exchange& ex, std::string_view outcome) const noexcept;
  std::chrono::milliseconds Ttl(const Record& r, std::int64_t now) const noexcept;

  SessionConfig config_;
  std::shared_ptr<state::KvStore> store_;
  observe::OutcomeCounters counters_;
  WallMillis clock_;
};

std::unique_ptr<Gate> MakeSessionGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::session
