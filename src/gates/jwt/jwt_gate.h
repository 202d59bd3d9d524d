// The jwt gate: a bearer token (RFC 6750) verified against the provider its `iss` names, its
// claims checked, revocation consulted, and the token's subject, roles, scopes and claims made
// the request's identity. See README.md for what it refuses and how it fails.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "gates/jwt/jwks_source.h"
#include "gates/jwt/jwt_config.h"
#include "gates/jwt/revocation.h"
#include "gates/jwt/token_cache.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"

namespace rampart::jwt {

// Seconds since the Unix epoch; tests substitute their own.
using WallSeconds = std::int64_t (*)();
std::int64_t SystemSeconds() noexcept;

class JwtGate final : public Gate {
 public:
  struct Provider {
    ProviderConfig config;
    ClaimRules rules;
    std::shared_ptr<JwksSource> keys;
  };
  JwtGate(JwtConfig config, std::vector<Provider> providers,
          std::shared_ptr<Revocations> revocations, observe::OutcomeCounters counters,
          WallSeconds clock = SystemSeconds);

  std::string_view Name() const noexcept override { return "jwt"; }
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override;

  // Counted outcomes: "pass", "anonymous", then every refusal reason (Reasons()).
  static std::span<const std::string_view> Outcomes() noexcept;
  TokenCache* cache() noexcept { return cache_.get(); }

 private:
  enum class Step : std::uint8_t { kDone, kNeedKeys };
  // Finds the token (and claims the forwarded headers and the query parameter).
  std::string_view Extract(Exchange& ex, bool& malformed) const noexcept;
  // Verifies `token` with the keys at hand; kNeedKeys when its provider's keys must be fetched
  // (none yet, or an unknown kid and `refetched` is false).
  Step Verify(std::string_view token, std::int64_t now, bool refetched,
              std::shared_ptr<const Verified>& out, std::string_view& reason,
              std::size_t& provider) const;
  // A cached verification (this worker's recent tokens, then the shared cache), unless its
  // provider's keys changed since.
  std::shared_ptr<const Verified> Cached(std::string_view token, std::int64_t now) const;
  // Cached, or verified now (and then cached); kNeedKeys as Verify.
  Step Resolve(std::string_view token, std::int64_t now, bool refetched,
               std::shared_ptr<const Verified>& out, std::string_view& reason,
               std::size_t& provider) const;
  void Apply(Exchange& ex, const Verified& v) const;
  Decision Refuse(Exchange& ex, std::string_view reason) const;
  void Count(const Exchange& ex, std::string_view outcome) const noexcept;

  JwtConfig config_;
  std::vector<Provider> providers_;
  std::shared_ptr<Revocations> revocations_;
  std::unique_ptr<TokenCache> cache_;
  observe::OutcomeCounters counters_;
  WallSeconds clock_;
  std::uint64_t id_;  // this gate, for RecentTokens
};

std::unique_ptr<Gate> MakeJwtGate(const YAML::Node& settings, GateContext& ctx);
std::vector<std::string> JwtKeys();

}  // namespace rampart::jwt
