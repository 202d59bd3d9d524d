#include "gates/api_key/api_key_gate.h"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cstring>
#include <ctime>

#include "core/strings.h"
#include "gates/api_key/admin_endpoints.h"
#include "state/stores.h"

namespace rampart::api_key {

namespace asio = boost::asio;

namespace {

constexpr std::string_view kOutcomes[] = {
    "pass",        "anonymous", "missing_key",      "invalid_key",
    "expired_key", "malformed", "store_unavailable"};
constexpr std::size_t kFirstReason = 2;
constexpr std::size_t kMaxKeyBytes = 512;

std::int64_t Now() { return static_cast<std::int64_t>(std::time(nullptr)); }

}  // namespace

std::size_t DigestHash::operator()(const Sha256Digest& d) const noexcept {
  std::size_t h;
  std::memcpy(&h, d.data(), sizeof h);
  return h;
}

bool DigestEqual::operator()(const Sha256Digest& a, const Sha256Digest& b) const noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

KnownKey Know(ApiKey key) {
  auto g = std::make_shared<Grants>();
  g->roles = key.roles;
  g->scopes = key.scopes;
  if (!key.tier.empty()) g->attributes.emplace_back("tier", key.tier);
  return {std::move(key), std::move(g)};
}

std::string StoreKey(const Sha256Digest& hash) { return "key:" + Hex(hash); }
std::string IdKey(std::string_view id) { return "id:" + std::string(id); }

std::span<const std::string_view> ApiKeyGate::Outcomes() noexcept { return kOutcomes; }

std::span<const std::string_view> ApiKeyGate::Reasons() const noexcept {
  return std::span<const std::string_view>(kOutcomes).subspan(kFirstReason);
}

ApiKeyGate::ApiKeyGate(ApiKeyConfig config, std::shared_ptr<const KeyIndex> file_keys,
                       std::shared_ptr<state::KvStore> store, observe::OutcomeCounters counters,
                       WallSeconds clock)
    : config_(std::move(config)),
      file_keys_(std::move(file_keys)),
      store_(std::move(store)),
      counters_(std::move(counters)),
      clock_(clock) {}

void ApiKeyGate::Count(const Exchange& ex, std::string_view outcome) const noexcept {
  counters_.Add(ex.worker, outcome);
}

std::string_view ApiKeyGate::Extract(const Exchange& ex, bool& malformed) const noexcept {
  malformed = false;
  std::string_view key;
  if (!config_.header.empty()) {
    int seen = 0;
    for (const auto& f : *ex.request_headers) {
      if (!IEquals(f.name, config_.header)) continue;
      if (++seen > 1) {  // two keys: which one would the origin believe?
        malformed = true;
        return {};
      }
      key = TrimOws(f.value);
    }
    if (!key.empty()) return key;
  }
  if (!config_.query.empty()) {
    bool taken = false;  // a second key, even after an empty one, is refused
    ForEachPair(ex.query, '&', [&](std::string_view n, std::string_view v) {
      if (!QueryNameIs(n, config_.query)) return true;
      if (taken) {
        malformed = true;
        return false;
      }
      taken = true;
      key = v;
      return true;
    });
  }
  return malformed ? std::string_view() : key;
}

Decision ApiKeyGate::Refuse(Exchange& ex, std::string_view reason) const {
  Count(ex, reason);
  ex.notes.push_back({"api_key", reason, {}});
  if (reason == "store_unavailable") {
    return Decision::Respond(503, reason, "the API key cannot be checked right now");
  }
  return Decision::Respond(401, reason,
                           reason == "missing_key"   ? "an API key is required"
                           : reason == "expired_key" ? "the API key has expired"
                                                     : "the API key is not valid");
}

Decision ApiKeyGate::Accept(Exchange& ex, const KnownKey& known) const {
  const ApiKey& k = known.key;
  if (k.expires != 0 && clock_() >= k.expires) return Refuse(ex, "expired_key");
  Count(ex, "pass");
  ex.notes.push_back({"api_key", "pass", {}});
  if (ex.identity.principal.empty()) {
    // The forwarded id names the key later gates decide on: only when this gate set it.
    if (!config_.forward_header.empty()) ex.FillUpstreamHeader(config_.forward_header, k.id);
    ex.identity.principal = k.principal;
    ex.identity.method = "api_key";
    ex.identity.api_key = k.id;
    ex.identity.grants = known.grants;
  }
  return Decision::Continue();
}

Decision ApiKeyGate::OnRequestHeaders(Exchange& ex) noexcept {
  // The credential and the forwarded id are claimed first: neither a client-sent id nor the key
  // reaches the upstream, whatever follows.
  if (config_.hide_credentials) {
    if (!config_.header.empty()) ex.upstream_headers.emplace_back(config_.header, "");
    if (!config_.query.empty()) ex.query_remove.push_back(config_.query);
  }
  if (!config_.forward_header.empty()) ex.upstream_headers.emplace_back(config_.forward_header, "");
  bool malformed = false;
  const std::string_view key = Extract(ex, malformed);
  if (malformed) return Refuse(ex, "malformed");
  if (key.empty()) {
    if (config_.allow_anonymous) {
      Count(ex, "anonymous");
      return Decision::Continue();
    }
    return Refuse(ex, "missing_key");
  }
  if (key.size() > kMaxKeyBytes) return Refuse(ex, "invalid_key");
  const Sha256Digest digest = Sha256(key);
  if (file_keys_) {
    if (auto it = file_keys_->find(digest); it != file_keys_->end()) return Accept(ex, it->second);
  }
  if (store_) return Decision::Await();
  return Refuse(ex, "invalid_key");
}

asio::awaitable<Decision> ApiKeyGate::OnRequestHeadersAsync(Exchange& ex) noexcept {
  bool malformed = false;
  const std::string_view key = Extract(ex, malformed);
  const state::KvResult r = co_await store_->Get(StoreKey(Sha256(key)), ex.worker);
  if (r.status == state::KvStatus::kUnavailable) {
    if (config_.on_store_failure == StoreFailure::kAllow) {
      Count(ex, "anonymous");
      co_return Decision::Continue();  // fail open: no identity, authz decides
    }
    co_return Refuse(ex, "store_unavailable");
  }
  if (r.status != state::KvStatus::kOk) co_return Refuse(ex, "invalid_key");
  ApiKey k;
  std::string error;
  if (!FromJson(r.value, k, error)) co_return Refuse(ex, "invalid_key");
  co_return Accept(ex, Know(std::move(k)));
}

std::unique_ptr<Gate> MakeApiKeyGate(const YAML::Node& settings, GateContext& ctx) {
  ApiKeyConfig c;
  if (!ApiKeyFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  c.header = ToLower(c.header);
  c.forward_header = ToLower(c.forward_header);
  std::shared_ptr<KeyIndex> index;
  std::vector<ApiKey> file_keys;
  if (!c.keys_file.empty()) {
    std::vector<config::ConfigError> errors;
    if (!ReadKeysFile(ctx.config.Resolve(c.keys_file), file_keys, errors)) {
      for (auto& e : errors)
        ctx.reader.Error(settings, fmt::format("{}.keys_file: {}", ctx.where, e.ToString()));
      return nullptr;
    }
    index = std::make_shared<KeyIndex>();
    for (const ApiKey& k : file_keys) index->emplace(k.hash, Know(k));
  }
  std::shared_ptr<state::KvStore> store;
  if (c.store) {
    state::KvSpec spec;
    spec.name = "api_keys";
    spec.shared = c.store_shared;
    spec.on_failure = state::KvFailureFor(c.on_store_failure);
    std::string error;
    store = ctx.stores.Kv(spec, ctx.config.state, &error);
    if (!store) {
      ctx.reader.Error(settings, fmt::format("{}.store: {}", ctx.where, error));
      return nullptr;
    }
    AddAdminEndpoints(ctx.admin, store, spec.shared ? "redis" : "local", file_keys, Now);
  }
  static constexpr observe::CounterDef<2> kRequests{"rampart_api_key_requests_total",
                                                    "api_key gate decisions, by route and outcome.",
                                                    {"route", "outcome"}};
  observe::OutcomeCounters counters(ctx.metrics, kRequests, ctx.route.name, kOutcomes);
  return std::make_unique<ApiKeyGate>(std::move(c), std::move(index), std::move(store),
                                      std::move(counters), Now);
}

}  // namespace rampart::api_key
