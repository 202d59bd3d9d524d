#include "gates/jwt/jwt_gate.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/base64url.h"
#include "core/strings.h"
#include "gates/jwt/revoke_endpoint.h"
#include "gates/jwt/verify.h"
#include "state/stores.h"

namespace rampart::jwt {

namespace asio = boost::asio;

namespace {

// Outcomes as counted: the two passes, then the refusals (which are also the gate's reasons).
constexpr std::string_view kOutcomes[] = {
    "pass",
    "anonymous",
    "missing_token",
    "token_too_large",
    "malformed",
    "bad_base64",
    "bad_json",
    "wrong_type",
    "alg_none",
    "alg_unsupported",
    "crit_unsupported",
    "bad_claim",
    "unknown_issuer",
    "alg_not_allowed",
    "unknown_kid",
    "no_matching_key",
    "keys_unavailable",
    "bad_signature",
    "expired",
    "not_yet_valid",
    "issued_in_future",
    "missing_exp",
    "lifetime_too_long",
    "wrong_issuer",
    "wrong_audience",
    "missing_claim",
    "claim_mismatch",
    "revoked",
    "revocation_unavailable",
};
constexpr std::size_t kFirstReason = 2;

// What the client is told (RFC 6750 §3 error_description: no token or key material).
std::string_view Describe(std::string_view reason) {
  if (reason == "missing_token") return "a bearer token is required";
  if (reason == "token_too_large") return "the token is too large";
  if (reason == "expired") return "the token has expired";
  if (reason == "not_yet_valid") return "the token is not valid yet";
  if (reason == "revoked") return "the token has been revoked";
  if (reason == "wrong_audience") return "the token is not for this audience";
  if (reason == "wrong_issuer" || reason == "unknown_issuer")
    return "the token's issuer is not accepted";
  if (reason == "keys_unavailable" || reason == "revocation_unavailable") {
    return "the token cannot be checked right now";
  }
  if (reason == "bad_signature") return "the token's signature does not verify";
  if (reason == "missing_claim" || reason == "claim_mismatch" || reason == "missing_exp" ||
      reason == "lifetime_too_long" || reason == "issued_in_future" || reason == "bad_claim") {
    return "the token's claims are not accepted";
  }
  return "the token is not valid";
}

bool HeaderSafe(std::string_view v) {
  return std::none_of(v.begin(), v.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

std::string Join(const Claim& c) {
  if (!c.is_array) return c.text;
  std::string out;
  for (const auto& i : c.items) {
    if (!out.empty()) out += ',';
    out += i;
  }
  return out;
}

}  // namespace

namespace {
std::uint64_t NextGateId() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

std::int64_t SystemSeconds() noexcept { return static_cast<std::int64_t>(std::time(nullptr)); }

std::span<const std::string_view> JwtGate::Outcomes() noexcept { return kOutcomes; }

std::span<const std::string_view> JwtGate::Reasons() const noexcept {
  return std::span<const std::string_view>(kOutcomes).subspan(kFirstReason);
}

JwtGate::JwtGate(JwtConfig config, std::vector<Provider> providers,
                 std::shared_ptr<Revocations> revocations, observe::OutcomeCounters counters,
                 WallSeconds clock)
    : config_(std::move(config)),
      providers_(std::move(providers)),
      revocations_(std::move(revocations)),
      counters_(std::move(counters)),
      clock_(clock),
      id_(NextGateId()) {
  if (config_.cache)
    cache_ = std::make_unique<TokenCache>(config_.cache_entries, config_.cache_bytes);
}

void JwtGate::Count(const Exchange& ex, std::string_view outcome) const noexcept {
  counters_.Add(ex.worker, outcome);
}

std::string_view JwtGate::Extract(Exchange& ex, bool& malformed) const noexcept {
  malformed = false;
  const http::HeaderList& h = *ex.request_headers;
  std::string_view token;
  if (!config_.header.empty()) {
    int seen = 0;
    for (const auto& f : h) {
      if (!IEquals(f.name, config_.header)) continue;
      if (++seen > 1) {  // two credentials: which one would the origin believe?
        malformed = true;
        return {};
      }
      std::string_view v = TrimOws(f.value);
      if (IStartsWith(v, "bearer ")) {
        v.remove_prefix(7);
        token = TrimOws(v);
      } else if (config_.header != "authorization") {
        token = v;  // a dedicated header carries the bare token
      }
    }
    if (!token.empty()) return token;
  }
  // A second token of the same name, even after an empty one: which one would the origin
  // believe? Refused.
  bool taken = false;
  auto take = [&](bool named, std::string_view value) {
    if (!named) return true;
    if (taken) {
      malformed = true;
      return false;
    }
    taken = true;
    token = value;
    return true;
  };
  if (!config_.cookie.empty()) {
    for (const auto& f : h) {
      if (!IEquals(f.name, "cookie")) continue;
      ForEachPair(f.value, ';', [&](std::string_view n, std::string_view v) {
        return take(n == config_.cookie, v);
      });
      if (malformed) return {};
    }
    if (!token.empty()) return token;
  }
  if (!config_.query.empty()) {
    taken = false;
    ForEachPair(ex.query, '&', [&](std::string_view n, std::string_view v) {
      return take(QueryNameIs(n, config_.query), v);
    });
    if (malformed) return {};
  }
  return token;
}

JwtGate::Step JwtGate::Verify(std::string_view text, std::int64_t now, bool refetched,
                              std::shared_ptr<const Verified>& out, std::string_view& reason,
                              std::size_t& provider) const {
  Token t;
  if (!ParseToken(text, t, reason)) return Step::kDone;
  const auto p = std::find_if(providers_.begin(), providers_.end(),
                              [&](const Provider& x) { return x.config.issuer == t.iss; });
  if (p == providers_.end()) {
    reason = "unknown_issuer";
    return Step::kDone;
  }
  provider = static_cast<std::size_t>(p - providers_.begin());
  if (std::find(p->config.algorithms.begin(), p->config.algorithms.end(), t.alg) ==
      p->config.algorithms.end()) {
    reason = "alg_not_allowed";
    return Step::kDone;
  }
  if (!p->config.typ.empty()) {
    // RFC 8725 §3.11: an ID token (or any other kind) of the same issuer is not an access token.
    std::string_view typ = t.typ;
    if (IStartsWith(typ, "application/")) typ.remove_prefix(12);
    if (!IEquals(typ, p->config.typ)) {
      reason = "wrong_type";
      return Step::kDone;
    }
  }
  const std::uint64_t generation = p->keys->generation();  // read first: never newer than keys
  const std::shared_ptr<const KeySet> keys = p->keys->keys();
  if (!keys) {
    if (!refetched) return Step::kNeedKeys;
    reason = "keys_unavailable";
    return Step::kDone;
  }
  bool candidate = false;
  bool verified = false;
  keys->ForCandidates(t.kid, t.alg, [&](const Jwk& k) {
    candidate = true;
    verified = VerifySignature(t.alg, k, t.signing_input, t.signature);
    return verified;
  });
  if (!candidate) {
    if (!refetched && !p->keys->spec().url.empty()) return Step::kNeedKeys;
    reason = t.kid.empty() ? "no_matching_key" : "unknown_kid";
    return Step::kDone;
  }
  if (!verified) {
    reason = "bad_signature";
    return Step::kDone;
  }
  if (!CheckClaims(t, p->rules, now, reason)) return Step::kDone;
  auto v = std::make_shared<Verified>();
  v->provider = provider;
  v->key_generation = generation;
  std::int64_t ends = INT64_MAX;  // saturating: exp near the int64 limit must not wrap
  if (t.exp && __builtin_add_overflow(*t.exp, p->rules.leeway, &ends)) ends = INT64_MAX;
  v->exp = t.exp ? ends : now + 300;
  v->iat = t.iat.value_or(0);
  v->sub = t.sub;
  v->jti = t.jti;
  if (const Claim* c = t.Find(config_.principal_claim); c != nullptr && !c->is_array) {
    v->principal = c->text;
  }
  auto grants = std::make_shared<Grants>();
  if (const Claim* c = t.Find(config_.roles_claim); c != nullptr) {
    if (c->is_array) {
      grants->roles = c->items;
    } else if (!c->text.empty()) {
      grants->roles.push_back(c->text);
    }
  }
  for (std::string_view name : {"scope", "scp"}) {
    if (const Claim* c = t.Find(name); c != nullptr) {
      grants->scopes.insert(grants->scopes.end(), c->items.begin(), c->items.end());
      if (!c->is_array && c->items.empty() && !c->text.empty()) grants->scopes.push_back(c->text);
    }
  }
  for (const Claim& c : t.claims) {
    if (c.is_array) {
      for (const auto& i : c.items) grants->attributes.emplace_back("claim." + c.name, i);
    } else {
      grants->attributes.emplace_back("claim." + c.name, c.text);
    }
  }
  v->grants = std::move(grants);
  for (const auto& [claim, header] : config_.forward_claims) {
    const Claim* c = t.Find(claim);
    if (c == nullptr) continue;
    std::string value = Join(*c);
    if (HeaderSafe(value)) v->forward.emplace_back(header, std::move(value));
  }
  out = std::move(v);
  return Step::kDone;
}

void JwtGate::Apply(Exchange& ex, const Verified& v) const {
  for (const auto& [header, value] : v.forward) ex.FillUpstreamHeader(header, value);
  ex.notes.push_back({"jwt", "pass", providers_[v.provider].config.name});
  Count(ex, "pass");
  if (!ex.identity.principal.empty()) return;  // an earlier authenticator decided who it is
  ex.identity.principal = v.principal;
  ex.identity.method = "jwt";
  ex.identity.grants = v.grants;
}

Decision JwtGate::Refuse(Exchange& ex, std::string_view reason) const {
  Count(ex, reason);
  ex.notes.push_back({"jwt", reason, {}});
  if (reason == "revocation_unavailable" || reason == "keys_unavailable") {
    return Decision::Respond(503, reason, std::string(Describe(reason)));
  }
  std::string challenge = reason == "missing_token"
                              ? std::string("WWW-Authenticate: Bearer\r\n")
                              : fmt::format(
                                    "WWW-Authenticate: Bearer error=\"invalid_token\", "
                                    "error_description=\"{}\"\r\n",
                                    Describe(reason));
  return Decision::Respond(401, reason, std::string(Describe(reason)), std::move(challenge));
}

std::shared_ptr<const Verified> JwtGate::Cached(std::string_view token, std::int64_t now) const {
  std::shared_ptr<const Verified> v = RecentTokens::Find(id_, token, now);
  if (!v) {
    v = cache_->Find(TokenDigest(token), now);
    if (v) RecentTokens::Remember(id_, token, v);
  }
  if (v && v->key_generation != providers_[v->provider].keys->generation()) v.reset();
  return v;
}

JwtGate::Step JwtGate::Resolve(std::string_view token, std::int64_t now, bool refetched,
                               std::shared_ptr<const Verified>& out, std::string_view& reason,
                               std::size_t& provider) const {
  if (cache_ && (out = Cached(token, now))) return Step::kDone;
  const Step step = Verify(token, now, refetched, out, reason, provider);
  if (out && cache_) {
    cache_->Insert(TokenDigest(token), out);
    RecentTokens::Remember(id_, token, out);
  }
  return step;
}

Decision JwtGate::OnRequestHeaders(Exchange& ex) noexcept {
  // Forwarded claim headers and the query parameter are claimed first, whatever follows: a
  // client-sent X-User-Id never reaches the origin.
  for (const auto& [claim, header] : config_.forward_claims)
    ex.upstream_headers.emplace_back(header, "");
  if (!config_.query.empty()) ex.query_remove.push_back(config_.query);
  bool malformed = false;
  const std::string_view token = Extract(ex, malformed);
  if (malformed) return Refuse(ex, "malformed");
  if (token.empty()) {
    if (config_.allow_anonymous) {
      Count(ex, "anonymous");
      return Decision::Continue();
    }
    return Refuse(ex, "missing_token");
  }
  if (token.size() > config_.max_token_bytes) return Refuse(ex, "token_too_large");
  if (revocations_) return Decision::Await();  // the store is consulted on every request
  std::shared_ptr<const Verified> v;
  std::string_view reason;
  std::size_t provider = 0;
  if (Resolve(token, clock_(), false, v, reason, provider) == Step::kNeedKeys) {
    return Decision::Await();
  }
  if (!v) return Refuse(ex, reason);
  Apply(ex, *v);
  return Decision::Continue();
}

asio::awaitable<Decision> JwtGate::OnRequestHeadersAsync(Exchange& ex) noexcept {
  // Entered only after OnRequestHeaders asked (the headers are claimed, the token is there).
  bool malformed = false;
  const std::string_view token = Extract(ex, malformed);
  const std::int64_t now = clock_();
  std::shared_ptr<const Verified> v;
  std::string_view reason;
  std::size_t provider = 0;
  if (Resolve(token, now, false, v, reason, provider) == Step::kNeedKeys) {
    const bool have = providers_[provider].keys->keys() != nullptr;
    co_await providers_[provider].keys->Refresh(have);
    Resolve(token, now, true, v, reason, provider);
  }
  if (!v) co_return Refuse(ex, reason);
  if (revocations_) {
    const Provider& p = providers_[v->provider];
    const RevocationVerdict r =
        co_await revocations_->Check(p.config.issuer, v->sub, v->jti, v->iat, ex.worker);
    if (r == RevocationVerdict::kRevoked) co_return Refuse(ex, "revoked");
    if (r == RevocationVerdict::kUnavailable && config_.on_store_failure != StoreFailure::kAllow) {
      co_return Refuse(ex, "revocation_unavailable");
    }
  }
  Apply(ex, *v);
  co_return Decision::Continue();
}

std::vector<std::string> JwtKeys() {
  std::vector<std::string> keys = JwtFields().Keys();
  for (const auto& k : ProviderFields().Keys()) keys.push_back(k);
  for (const auto& k : JwksFields().Keys()) keys.push_back(k);
  return keys;
}

namespace {

constexpr observe::CounterDef<2> kRequests{"rampart_jwt_requests_total",
                                           "jwt gate decisions, by route and outcome.",
                                           {"route", "outcome"}};

bool ReadSecretFile(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    error = fmt::format("cannot read '{}'", path);
    return false;
  }
  out = ss.str();
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return true;
}

std::size_t HashSize(Alg a) {
  return a == Alg::kHS256 ? 32 : a == Alg::kHS384 ? 48 : a == Alg::kHS512 ? 64 : 0;
}

}  // namespace

std::unique_ptr<Gate> MakeJwtGate(const YAML::Node& settings, GateContext& ctx) {
  JwtConfig c;
  if (!JwtFields().Read(ctx.reader, settings, ctx.where, c)) return nullptr;
  c.header = ToLower(c.header);
  std::vector<JwtGate::Provider> providers;
  bool ok = true;
  for (std::size_t i = 0; i < c.providers.size(); ++i) {
    ProviderConfig& pc = c.providers[i];
    const std::string where = fmt::format("{}.providers[{}]", ctx.where, i);
    JwtGate::Provider p;
    p.rules = pc.Rules();
    pc.jwks.file = ctx.config.Resolve(pc.jwks.file);
    pc.jwks.ca_file = ctx.config.Resolve(pc.jwks.ca_file);
    pc.hmac_secret_file = ctx.config.Resolve(pc.hmac_secret_file);
    std::string error;
    if (!pc.hmac_secret_file.empty()) {
      // A raw shared secret: one oct key, for HS* only.
      std::string secret;
      if (!ReadSecretFile(pc.hmac_secret_file, secret, error)) {
        ctx.reader.Error(settings, fmt::format("{}.hmac_secret_file: {}", where, error));
        ok = false;
        continue;
      }
      std::string b64;
      Base64UrlEncode(secret, b64);
      pc.jwks.inline_json = fmt::format(R"({{"kty":"oct","k":"{}"}})", b64);
    }
    const std::string identity = "jwt-keys " + pc.jwks.Identity();
    auto source = ctx.stores.Local<JwksSource>(
        identity, [&] { return std::make_shared<JwksSource>(pc.jwks, ctx.services); },
        {{"rampart_jwt_keys", "gauge", "Verification keys held, by key source."},
         {"rampart_jwt_key_fetches_total", "counter",
          "Key set fetches and file reloads, by key source and outcome."}},
        [src = pc.jwks.Label()](std::weak_ptr<JwksSource> weak) -> state::Stores::Render {
          const std::string label = observe::EscapeLabelValue(src);
          return [weak, label](std::string& out, std::string_view family) {
            auto s = weak.lock();
            if (!s) return;
            if (family == "rampart_jwt_keys") {
              out += fmt::format("rampart_jwt_keys{{source=\"{}\"}} {}\n", label, s->key_count());
            } else {
              out += fmt::format(
                  "rampart_jwt_key_fetches_total{{source=\"{}\",outcome=\"ok\"}} "
                  "{}\nrampart_jwt_key_fetches_total{{source=\"{}\",outcome="
                  "\"failed\"}} {}\n",
                  label, s->fetches_ok(), label, s->fetches_failed());
            }
          };
        });
    // A source found again (another route, or the snapshot before a reload) is loaded and
    // running already.
    if (!source->keys() && pc.jwks.url.empty() && !source->Load(error)) {
      ctx.reader.Error(settings, fmt::format("{}.jwks: {}", where, error));
      ok = false;
      continue;
    }
    source->Start();
    // Secrets shorter than the hash are refused here, not token by token (RFC 7518 §3.2).
    if (auto keys = source->keys()) {
      for (Alg a : pc.algorithms) {
        const std::size_t need = HashSize(a);
        if (need == 0) continue;
        for (const Jwk& k : keys->keys) {
          if (k.type == KeyType::kOct && k.secret.size() < need) {
            ctx.reader.Error(settings,
                             fmt::format("{}: an HMAC secret of {} bytes is too short for {} "
                                         "(at least {})",
                                         where, k.secret.size(), AlgName(a), need));
            ok = false;
          }
        }
      }
    }
    p.config = pc;
    p.keys = std::move(source);
    providers.push_back(std::move(p));
  }
  std::shared_ptr<Revocations> revocations;
  if (c.revocation) {
    state::KvSpec spec;
    spec.name = "jwt_revocations";
    spec.shared = c.revocation_shared;
    spec.on_failure = state::KvFailureFor(c.on_store_failure);
    std::string error;
    auto store = ctx.stores.Kv(spec, ctx.config.state, &error);
    if (!store) {
      ctx.reader.Error(settings, fmt::format("{}.revocation: {}", ctx.where, error));
      ok = false;
    } else {
      // A revocation must outlive every token it revokes: the longest lifetime, plus leeway and
      // five minutes. Without max_lifetime nothing bounds a token's life, so it is required.
      std::chrono::seconds slack{300};
      std::chrono::seconds lifetime{0};
      for (const auto& p : c.providers) {
        slack = std::max(slack, p.leeway + std::chrono::seconds(300));
        lifetime = std::max(lifetime, p.max_lifetime);
        if (p.max_lifetime.count() == 0) {
          ctx.reader.Error(settings, fmt::format("{}.revocation: provider '{}' needs max_lifetime "
                                                 "(a revocation must outlive the tokens it "
                                                 "revokes)",
                                                 ctx.where, p.name));
          ok = false;
        }
      }
      const std::chrono::seconds ttl = std::max(c.revocation_ttl, lifetime + slack);
      revocations = std::make_shared<Revocations>(std::move(store), ttl, slack);
      ctx.admin.Add("/admin/jwt/revoke", spec.shared ? "redis" : "local",
                    RevokeEndpoint(revocations, SystemSeconds), /*broadcast=*/true);
    }
  }
  if (!ok) return nullptr;
  observe::OutcomeCounters counters(ctx.metrics, kRequests, ctx.route.name, kOutcomes);
  return std::make_unique<JwtGate>(std::move(c), std::move(providers), std::move(revocations),
                                   std::move(counters));
}

}  // namespace rampart::jwt
