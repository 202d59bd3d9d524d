#include "gates/jwt/token.h"

#include <gtest/gtest.h>

#include "core/base64url.h"
#include "core/json_strict.h"
#include "gates/jwt/claims.h"
#include "gates/jwt/test_tokens.h"

namespace rampart::jwt {
namespace {

using testing::B64;

bool Decodes(std::string_view in, std::string* out = nullptr) {
  std::string s;
  const bool ok = Base64UrlDecode(in, s);
  if (out != nullptr) *out = s;
  return ok;
}

TEST(Base64Url, RoundTripsEveryLength) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    std::string enc;
    Base64UrlEncode(data, enc);
    EXPECT_EQ(enc.find('='), std::string::npos);
    std::string dec;
    ASSERT_TRUE(Base64UrlDecode(enc, dec)) << enc;
    EXPECT_EQ(dec, data);
    data.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64Url, RefusesWhatIsNotStrict) {
  std::string out;
  EXPECT_TRUE(Decodes("YWJj", &out));
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(Decodes("-_8", &out));  // the URL alphabet
  EXPECT_FALSE(Decodes("YWI="));      // padding
  EXPECT_FALSE(Decodes("YW I"));      // whitespace
  EXPECT_FALSE(Decodes("YWJj\n"));
  EXPECT_FALSE(Decodes("+/8"));  // the standard alphabet
  EXPECT_FALSE(Decodes("Y"));    // a length no encoding has
  EXPECT_FALSE(Decodes("YWJ%"));
  // Canonical only: "YR" and "YQ" both decode to "a" in a lenient decoder.
  EXPECT_TRUE(Decodes("YQ", &out));
  EXPECT_EQ(out, "a");
  EXPECT_FALSE(Decodes("YR"));
  EXPECT_FALSE(Decodes("YWK"));  // "ab" is "YWI"
  EXPECT_TRUE(Decodes(""));
}

TEST(StrictJson, RefusesDuplicateKeysAtAnyDepth) {
  StrictJson json;
  simdjson::dom::element root;
  std::string_view error;
  EXPECT_TRUE(json.Parse(R"({"a":1,"b":{"c":2}})", root, error));
  EXPECT_FALSE(json.Parse(R"({"a":1,"a":2})", root, error));
  EXPECT_EQ(error, "duplicate_key");
  EXPECT_FALSE(json.Parse(R"({"a":{"b":1,"b":1}})", root, error));
  EXPECT_FALSE(json.Parse(R"({"a":[{"x":1,"x":2}]})", root, error));
  // An escaped spelling of the same key is the same key.
  EXPECT_FALSE(json.Parse(R"({"sub":"a","s\u0075b":"b"})", root, error));
  EXPECT_EQ(error, "duplicate_key");
  EXPECT_FALSE(json.Parse(std::string(100, '[') + std::string(100, ']'), root, error));
  EXPECT_EQ(error, "too_deep");
  EXPECT_FALSE(json.Parse("{\"a\":\"\xff\"}", root, error));  // not UTF-8
  EXPECT_FALSE(json.Parse(R"({"a":1,})", root, error));
}

std::string Tok(std::string_view header, std::string_view payload, std::string_view sig = "c2ln") {
  return B64(header) + "." + B64(payload) + "." + std::string(sig);
}

std::string_view Refusal(const std::string& text) {
  Token t;
  std::string_view reason;
  if (ParseToken(text, t, reason)) return "parsed";
  return reason;
}

TEST(ParseToken, ReadsHeaderAndClaims) {
  Token t;
  std::string_view reason;
  ASSERT_TRUE(
      ParseToken(Tok(R"({"alg":"ES256","kid":"k1","typ":"JWT"})",
                     R"({"iss":"https://id","sub":"u1","aud":["a","b"],"exp":1900000000,)"
                     R"("nbf":1.5e9,"iat":1800000000,"roles":["admin"],"scope":"read write",)"
                     R"("n":42,"ok":true})"),
                 t, reason))
      << reason;
  EXPECT_EQ(t.alg, Alg::kES256);
  EXPECT_EQ(t.kid, "k1");
  EXPECT_EQ(t.iss, "https://id");
  EXPECT_EQ(t.sub, "u1");
  EXPECT_EQ(t.aud, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t.exp, 1900000000);
  EXPECT_EQ(t.nbf, 1500000000);
  EXPECT_EQ(t.Find("roles")->items, std::vector<std::string>{"admin"});
  EXPECT_EQ(t.Find("scope")->items, (std::vector<std::string>{"read", "write"}));
  EXPECT_EQ(t.Find("n")->text, "42");
  EXPECT_EQ(t.Find("ok")->text, "true");
  EXPECT_EQ(t.signature, "sig");
  EXPECT_FALSE(t.points_at_key);
}

TEST(ParseToken, AlgNoneInEverySpellingIsRefused) {
  for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
    const std::string h = std::string(R"({"alg":")") + alg + "\"}";
    EXPECT_EQ(Refusal(Tok(h, R"({"sub":"x"})")), "alg_none") << alg;
    // With the signature stripped, as the attack sends it.
    EXPECT_EQ(Refusal(B64(h) + "." + B64(R"({"sub":"x"})") + "."), "malformed") << alg;
  }
  EXPECT_EQ(Refusal(Tok(R"({"alg":"hs256"})", "{}")), "alg_unsupported");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"HS256 "})", "{}")), "alg_unsupported");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"RSA-OAEP"})", "{}")), "alg_unsupported");
  EXPECT_EQ(Refusal(Tok(R"({"typ":"JWT"})", "{}")), "malformed");
  EXPECT_EQ(Refusal(Tok(R"({"alg":256})", "{}")), "malformed");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"HS256","alg":"none"})", "{}")), "bad_json");
}

TEST(ParseToken, CritAndKeyPointers) {
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256","crit":["exp"],"exp":1})", "{}")), "crit_unsupported");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256","crit":[]})", "{}")), "crit_unsupported");
  for (const char* h :
       {R"({"alg":"RS256","jku":"https://evil.example/jwks"})",
        R"({"alg":"RS256","x5u":"https://evil.example/cert"})", R"({"alg":"RS256","x5c":["MIIB"]})",
        R"({"alg":"RS256","jwk":{"kty":"oct","k":"AAAA"}})"}) {
    Token t;
    std::string_view reason;
    ASSERT_TRUE(ParseToken(Tok(h, "{}"), t, reason)) << h;
    EXPECT_TRUE(t.points_at_key) << h;
  }
}

TEST(ParseToken, FramingAndEncoding) {
  EXPECT_EQ(Refusal("abc"), "malformed");
  EXPECT_EQ(Refusal("a.b"), "malformed");
  EXPECT_EQ(Refusal("a.b.c.d.e"), "malformed");  // JWE
  EXPECT_EQ(Refusal(".e30.c2ln"), "malformed");
  EXPECT_EQ(Refusal(B64(R"({"alg":"ES256"})") + "..c2ln"), "malformed");
  EXPECT_EQ(Refusal(B64(R"({"alg":"ES256"})") + "=.e30.c2ln"), "bad_base64");
  EXPECT_EQ(Refusal(B64(R"({"alg":"ES256"})") + ".e30.c2ln="), "bad_base64");
  EXPECT_EQ(Refusal(B64(R"({"alg":"ES256"})") + ".e3 0.c2ln"), "bad_base64");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", "[]")), "bad_json");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", R"({"sub":"a","sub":"admin"})")), "bad_json");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", R"({"exp":"tomorrow"})")), "bad_claim");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", R"({"aud":[1]})")), "bad_claim");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", R"({"iss":["a"]})")), "bad_claim");
  EXPECT_EQ(Refusal(Tok(R"({"alg":"ES256"})", R"({"exp":1e300})")), "bad_claim");
}

Token Claims(std::string_view payload) {
  Token t;
  std::string_view reason;
  EXPECT_TRUE(ParseToken(Tok(R"({"alg":"ES256"})", payload), t, reason)) << reason;
  return t;
}

std::string_view Check(std::string_view payload, const ClaimRules& r, std::int64_t now = 1000) {
  std::string_view reason;
  return CheckClaims(Claims(payload), r, now, reason) ? "ok" : reason;
}

TEST(CheckClaims, TimesWithLeeway) {
  ClaimRules r;
  r.leeway = 10;
  EXPECT_EQ(Check(R"({"exp":991})", r), "ok");
  EXPECT_EQ(Check(R"({"exp":990})", r), "expired");  // on exp + leeway: expired
  EXPECT_EQ(Check(R"({"exp":2000,"nbf":1010})", r), "ok");
  EXPECT_EQ(Check(R"({"exp":2000,"nbf":1011})", r), "not_yet_valid");
  EXPECT_EQ(Check(R"({"exp":2000,"iat":1011})", r), "issued_in_future");
  EXPECT_EQ(Check(R"({"sub":"a"})", r), "missing_exp");
  r.require_exp = false;
  EXPECT_EQ(Check(R"({"sub":"a"})", r), "ok");
  EXPECT_EQ(Check(R"({"exp":9223372036854775807})", r), "ok");  // no wrap past INT64_MAX
  r.max_lifetime = 3600;
  EXPECT_EQ(Check(R"({"sub":"a"})", r), "missing_exp");
  EXPECT_EQ(Check(R"({"iat":1000,"exp":4600})", r), "ok");
  EXPECT_EQ(Check(R"({"iat":1000,"exp":4700})", r), "lifetime_too_long");
  EXPECT_EQ(Check(R"({"exp":9999999})", r), "lifetime_too_long");  // from now without iat
}

TEST(CheckClaims, IssuerAudienceAndValues) {
  ClaimRules r;
  r.require_exp = false;
  r.issuer = "https://id";
  r.audiences = {"api", "web"};
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api"})", r), "ok");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":["x","web"]})", r), "ok");
  EXPECT_EQ(Check(R"({"iss":"https://id/","aud":"api"})", r), "wrong_issuer");
  EXPECT_EQ(Check(R"({"aud":"api"})", r), "wrong_issuer");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"Api"})", r), "wrong_audience");
  EXPECT_EQ(Check(R"({"iss":"https://id"})", r), "wrong_audience");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":[]})", r), "wrong_audience");
  r.required = {"email"};
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api"})", r), "missing_claim");
  r.required.clear();
  r.values = {{"tenant", {{"acme"}, {"globex"}}}, {"groups", {{"ops"}}}};
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":"acme","groups":["dev","ops"]})", r),
            "ok");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":"initech","groups":["ops"]})", r),
            "claim_mismatch");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":"acme","groups":["dev"]})", r),
            "claim_mismatch");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":["acme"]})", r), "missing_claim");
  // JSON types are kept apart: "true" is not true, "5" is not 5, 5.0 is not 5.
  r.values = {{"email_verified", {{"true", false}}}, {"level", {{"5", false}}}};
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","email_verified":true,"level":5})", r), "ok");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","email_verified":"true","level":5})", r),
            "claim_mismatch");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","email_verified":["true"],"level":5})", r),
            "claim_mismatch");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","email_verified":true,"level":"5"})", r),
            "claim_mismatch");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","email_verified":true,"level":5.0})", r),
            "claim_mismatch");
  r.values = {{"tenant", {{"5"}}}};
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":"5"})", r), "ok");
  EXPECT_EQ(Check(R"({"iss":"https://id","aud":"api","tenant":5})", r), "claim_mismatch");
  // A token without aud is refused where none are configured only if it names some.
  ClaimRules open;
  open.require_exp = false;
  EXPECT_EQ(Check(R"({"sub":"a"})", open), "ok");
  EXPECT_EQ(Check(R"({"aud":"someone-else"})", open), "wrong_audience");
}

}  // namespace
}  // namespace rampart::jwt
