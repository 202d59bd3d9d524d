// JWT verification cost: the signature alone (VerifySignature on a parsed token, the figure
// `openssl speed` gives for the same algorithm and key size), the whole uncached path (parse the
// token, pick the key, verify), and a cached token (SHA-256 of the token and a cache lookup).
// bench/jwt_verify_speed.py sets the first against `openssl speed`.
#include <benchmark/benchmark.h>

#include "gates/jwt/claims.h"
#include "gates/jwt/jwt_gate.h"
#include "gates/jwt/test_tokens.h"
#include "gates/jwt/token.h"
#include "gates/jwt/token_cache.h"

namespace {

using namespace rampart::jwt;
using namespace rampart::jwt::testing;

const std::string kPayload =
    R"({"iss":"https://id.example","aud":"api","sub":"user-42","iat":1800000000,)"
    R"("exp":1800000600,"roles":["reader"],"scope":"read write"})";

struct Case {
  TestKey key;
  KeySet set;
  std::string token;
  Token parsed;
};

Case& For(Alg alg) {
  static std::map<Alg, Case> cases;
  Case& c = cases[alg];
  if (!c.token.empty()) return c;
  c.key = alg == Alg::kES256 ? MakeEc("k") : alg == Alg::kEdDSA ? MakeEd25519("k") : MakeRsa("k");
  std::string error;
  ParseJwks(Jwks({&c.key}), c.set, error);
  c.token = Sign(c.key, alg, Header(AlgName(alg), "k"), kPayload);
  std::string_view reason;
  ParseToken(c.token, c.parsed, reason);
  return c;
}

void BM_Verify(benchmark::State& state, Alg alg) {
  Case& c = For(alg);
  const Jwk& k = c.set.keys.front();
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifySignature(alg, k, c.parsed.signing_input, c.parsed.signature));
  }
}
BENCHMARK_CAPTURE(BM_Verify, ES256, Alg::kES256);
BENCHMARK_CAPTURE(BM_Verify, RS256, Alg::kRS256);
BENCHMARK_CAPTURE(BM_Verify, EdDSA, Alg::kEdDSA);

void BM_ParseAndVerify(benchmark::State& state, Alg alg) {
  Case& c = For(alg);
  ClaimRules rules;
  rules.issuer = "https://id.example";
  rules.audiences = {"api"};
  for (auto _ : state) {
    Token t;
    std::string_view reason;
    bool ok = ParseToken(c.token, t, reason);
    c.set.ForCandidates(t.kid, t.alg, [&](const Jwk& k) {
      ok = ok && VerifySignature(t.alg, k, t.signing_input, t.signature);
      return true;
    });
    ok = ok && CheckClaims(t, rules, 1800000100, reason);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK_CAPTURE(BM_ParseAndVerify, ES256, Alg::kES256);
BENCHMARK_CAPTURE(BM_ParseAndVerify, RS256, Alg::kRS256);
BENCHMARK_CAPTURE(BM_ParseAndVerify, EdDSA, Alg::kEdDSA);

void BM_CachedToken(benchmark::State& state) {
  Case& c = For(Alg::kES256);
  TokenCache cache(10'000, 8 << 20);
  auto v = std::make_shared<Verified>();
  v->exp = 1800000600;
  v->sub = "user-42";
  cache.Insert(TokenDigest(c.token), v);
  for (auto _ : state) benchmark::DoNotOptimize(cache.Find(TokenDigest(c.token), 1800000100));
}
BENCHMARK(BM_CachedToken);

// The gate's whole synchronous phase for a token it has verified before: find the header, hash
// the token, look it up, and make the identity.
std::int64_t BenchSeconds() { return 1800000100; }

void BM_JwtGateCached(benchmark::State& state) {
  Case& c = For(Alg::kES256);
  JwtConfig cfg;
  ProviderConfig pc;
  pc.issuer = "https://id.example";
  pc.audiences = {"api"};
  pc.algorithms = {Alg::kES256};
  pc.jwks.inline_json = Jwks({&c.key});
  JwtGate::Provider p;
  p.rules = pc.Rules();
  p.keys = std::make_shared<JwksSource>(pc.jwks, rampart::Services{});
  std::string error;
  p.keys->Load(error);
  p.config = pc;
  std::vector<JwtGate::Provider> providers;
  providers.push_back(std::move(p));
  JwtGate gate(cfg, std::move(providers), nullptr, {}, BenchSeconds);
  const std::string auth = "Bearer " + c.token;
  rampart::http::HeaderList h;
  h.Add("host", "api.example");
  h.Add("user-agent", "bench/1.0");
  h.Add("accept", "*/*");
  h.Add("authorization", auth);
  rampart::Exchange ex;
  for (auto _ : state) {
    ex.Reset();
    ex.request_headers = &h;
    benchmark::DoNotOptimize(gate.OnRequestHeaders(ex));
  }
}
BENCHMARK(BM_JwtGateCached);

}  // namespace
