// The api_key gate: a key from a header or query parameter, looked up by its SHA-256 in a keys
// file or the key-value store, becomes the request's principal with the key's tier, roles and
// scopes. See README.md.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "gates/api_key/api_key_config.h"
#include "observe/outcome_counters.h"
#include "pipeline/gate.h"
#include "pipeline/gate_registry.h"
#include "state/kv/kv_store.h"

namespace rampart::api_key {

using WallSeconds = std::int64_t (*)();

// Keys by hash. Equality is CRYPTO_memcmp: the final comparison takes the same time wherever the
// digests differ.
struct DigestHash {
  std::size_t operator()(const Sha256Digest& d) const noexcept;
};
struct DigestEqual {
  bool operator()(const Sha256Digest& a, const Sha256Digest& b) const noexcept;
};
// A key and what it grants, built once: a request copies a pointer.
struct KnownKey {
  ApiKey key;
  std::shared_ptr<const Grants> grants;
};
KnownKey Know(ApiKey key);
using KeyIndex = std::unordered_map<Sha256Digest, KnownKey, DigestHash, DigestEqual>;

// The store's key for a hash, and for an id.
std::string StoreKey(const Sha256Digest& hash);
std::string IdKey(std::string_view id);

class ApiKeyGate final : public Gate {
 public:
  ApiKeyGate(ApiKeyConfig config, std::shared_ptr<const KeyIndex> file_keys,
             std::shared_ptr<state::KvStore> store, observe::OutcomeCounters counters,
             WallSeconds clock);
  std::string_view Name() const noexcept override { return "api_key"; }
  std::span<const std::string_view> Reasons() const noexcept override;
  Decision OnRequestHeaders(Exchange& ex) noexcept override;
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override;
  // "pass", "anonymous", then the reasons.
  static std::span<const std::string_view> Outcomes() noexcept;

 private:
  std::string_view Extract(const Exchange& ex, bool& malformed) const noexcept;
  Decision Accept(Exchange& ex, const KnownKey& k) const;
  Decision Refuse(Exchange& ex, std::string_view reason) const;
  void Count(const Exchange& ex, std::string_view outcome) const noexcept;

  ApiKeyConfig config_;
  std::shared_ptr<const KeyIndex> file_keys_;
  std::shared_ptr<state::KvStore> store_;
  observe::OutcomeCounters counters_;
  WallSeconds clock_;
};

std::unique_ptr<Gate> MakeApiKeyGate(const YAML::Node& settings, GateContext& ctx);

}  // namespace rampart::api_key
