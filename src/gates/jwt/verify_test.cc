#include "gates/jwt/verify.h"

#include <gtest/gtest.h>

#include "gates/jwt/jwk.h"
#include "gates/jwt/test_tokens.h"
#include "gates/jwt/token.h"

namespace rampart::jwt {
namespace {

using namespace testing;

Jwk Parse(const std::string& jwk) {
  KeySet set;
  std::string error;
  EXPECT_TRUE(ParseJwks(jwk, set, error)) << error;
  if (set.keys.empty()) return {};
  return std::move(set.keys.front());
}

bool Verifies(const Jwk& key, const std::string& token) {
  Token t;
  std::string_view reason;
  if (!ParseToken(token, t, reason)) return false;
  return KeyFits(key, t.alg) && VerifySignature(t.alg, key, t.signing_input, t.signature);
}

const std::string kPayload = R"({"sub":"u1","exp":1900000000})";

TEST(Verify, EveryAlgorithmRoundTrips) {
  const TestKey rsa = MakeRsa("r");
  const TestKey p256 = MakeEc("e", "P-256");
  const TestKey p384 = MakeEc("e", "P-384");
  const TestKey p521 = MakeEc("e", "P-521");
  const TestKey ed = MakeEd25519("d");
  const TestKey oct = MakeOct("h", std::string(64, 'k'));
  const struct {
    const TestKey* key;
    Alg alg;
  } cases[] = {{&rsa, Alg::kRS256},  {&rsa, Alg::kRS384},  {&rsa, Alg::kRS512},
               {&rsa, Alg::kPS256},  {&rsa, Alg::kPS384},  {&rsa, Alg::kPS512},
               {&p256, Alg::kES256}, {&p384, Alg::kES384}, {&p521, Alg::kES512},
               {&ed, Alg::kEdDSA},   {&oct, Alg::kHS256},  {&oct, Alg::kHS384},
               {&oct, Alg::kHS512}};
  for (const auto& c : cases) {
    const Jwk pub = Parse(c.key->jwk);
    const std::string tok = Sign(*c.key, c.alg, Header(AlgName(c.alg), "k"), kPayload);
    EXPECT_TRUE(Verifies(pub, tok)) << AlgName(c.alg);
    // A changed payload does not verify.
    std::string tampered = tok;
    const std::size_t dot = tampered.find('.');
    tampered.replace(dot + 1, tampered.find('.', dot + 1) - dot - 1,
                     B64(R"({"sub":"admin","exp":1900000000})"));
    EXPECT_FALSE(Verifies(pub, tampered)) << AlgName(c.alg);
    // Nor a changed signature.
    std::string flipped = tok;
    flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(Verifies(pub, flipped)) << AlgName(c.alg);
  }
}

TEST(Verify, RsaPublicKeyIsNeverAnHmacSecret) {
  // The classic confusion: the attacker signs HS256 with the RSA public key's bytes as secret.
  const TestKey rsa = MakeRsa("r");
  const Jwk pub = Parse(rsa.jwk);
  for (Alg a : {Alg::kHS256, Alg::kHS384, Alg::kHS512}) EXPECT_FALSE(KeyFits(pub, a));
  const TestKey fake = MakeOct("r", rsa.jwk);  // the JWK text as the secret
  EXPECT_FALSE(Verifies(pub, Sign(fake, Alg::kHS256, Header("HS256", "r"), kPayload)));
  const TestKey ec = MakeEc("e");
  EXPECT_FALSE(Verifies(Parse(ec.jwk),
                        Sign(MakeOct("e", ec.jwk), Alg::kHS256, Header("HS256", "e"), kPayload)));
}

TEST(Verify, KeysFitOnlyTheirAlgorithms) {
  const Jwk p256 = Parse(MakeEc("e", "P-256").jwk);
  EXPECT_TRUE(KeyFits(p256, Alg::kES256));
  EXPECT_FALSE(KeyFits(p256, Alg::kES384));
  EXPECT_FALSE(KeyFits(p256, Alg::kRS256));
  const Jwk ed = Parse(MakeEd25519("d").jwk);
  EXPECT_TRUE(KeyFits(ed, Alg::kEdDSA));
  EXPECT_FALSE(KeyFits(ed, Alg::kES256));
  const Jwk rsa = Parse(MakeRsa("r").jwk);
  EXPECT_FALSE(KeyFits(rsa, Alg::kES256));
  EXPECT_FALSE(KeyFits(rsa, Alg::kEdDSA));
  // An RSA key below 2048 bits verifies nothing.
  const Jwk small = Parse(MakeRsa("s", 1024).jwk);
  EXPECT_EQ(small.bits, 1024);
  EXPECT_FALSE(KeyFits(small, Alg::kRS256));
  // HMAC secrets at least the hash's size.
  const Jwk h32 = Parse(MakeOct("h", std::string(32, 'x')).jwk);
  EXPECT_TRUE(KeyFits(h32, Alg::kHS256));
  EXPECT_FALSE(KeyFits(h32, Alg::kHS384));
  EXPECT_FALSE(KeyFits(Parse(MakeOct("h", std::string(31, 'x')).jwk), Alg::kHS256));
  // A JWK's own alg is the only one it verifies.
  Jwk pinned = Parse(R"({"kty":"oct","alg":"HS512","k":")" + B64(std::string(64, 'x')) + "\"}");
  EXPECT_TRUE(KeyFits(pinned, Alg::kHS512));
  EXPECT_FALSE(KeyFits(pinned, Alg::kHS256));
}

TEST(Verify, EcdsaZeroAndOutOfRangeSignaturesNeverVerify) {
  // CVE-2022-21449 ("psychic signatures"): r = s = 0 verified anything in one JDK.
  const TestKey p256 = MakeEc("e");
  const Jwk pub = Parse(p256.jwk);
  const std::string input = B64(Header("ES256", "e")) + "." + B64(kPayload);
  EXPECT_FALSE(VerifySignature(Alg::kES256, pub, input, std::string(64, '\0')));
  // r = n, s = n (the group order): out of [1, n-1].
  const std::string n = pub.ec_order;
  ASSERT_EQ(n.size(), 32u);
  EXPECT_FALSE(VerifySignature(Alg::kES256, pub, input, n + n));
  EXPECT_FALSE(VerifySignature(Alg::kES256, pub, input, std::string(64, '\xff')));
  // The wrong length (a DER signature, or R||S for another curve).
  const std::string good = Sign(p256, Alg::kES256, Header("ES256", "e"), kPayload);
  std::string sig;
  Base64UrlDecode(good.substr(good.rfind('.') + 1), sig);
  EXPECT_TRUE(VerifySignature(Alg::kES256, pub, input, sig));
  EXPECT_FALSE(VerifySignature(Alg::kES256, pub, input, sig + '\0'));
  EXPECT_FALSE(VerifySignature(Alg::kES256, pub, input, sig.substr(1)));
}

TEST(Jwks, RefusesKeysThatAreNotPublicOrNotValid) {
  KeySet set;
  std::string error;
  // A point not on the curve (x and y of a real key, y altered).
  const TestKey ec = MakeEc("e");
  std::string bad = ec.jwk;
  const std::size_t y = bad.find("\"y\":\"") + 5;
  bad[y + 3] = bad[y + 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ParseJwks(bad, set, error));
  EXPECT_NE(error.find("not a point on its curve"), std::string::npos) << error;
  // Coordinates of the wrong size.
  EXPECT_FALSE(ParseJwks(R"({"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"})", set, error));
  EXPECT_FALSE(ParseJwks(R"({"kty":"EC","crv":"secp256k1","x":"AAAA","y":"AAAA"})", set, error));
  // Encryption keys and unknown types are skipped; a set of nothing else is an error.
  EXPECT_FALSE(ParseJwks(R"({"keys":[{"kty":"oct","use":"enc","k":"AAAA"}]})", set, error));
  const TestKey rsa = MakeRsa("r");
  std::string enc = rsa.jwk;
  enc.insert(1, R"("use":"enc",)");
  ASSERT_TRUE(ParseJwks(Jwks({&ec}).insert(9, enc + ","), set, error)) << error;
  EXPECT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.skipped, 1);
  EXPECT_FALSE(ParseJwks("[]", set, error));
  EXPECT_FALSE(ParseJwks(R"({"keys":{}})", set, error));
  EXPECT_FALSE(
      ParseJwks(R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","e":"AQAB"}]})", set, error));
  // base64url members are strict too.
  EXPECT_FALSE(ParseJwks(R"({"kty":"oct","k":"YWI="})", set, error));
}

TEST(Jwks, SkipsKeysItCannotUseAndKeepsTheRest) {
  // RFC 7517 §5: keys of unsupported curves or out-of-range values are ignored; the set's other
  // keys still verify (one Ed448 key published beside the RSA ones must not stop rotation).
  const TestKey rsa = MakeRsa("rs-1");
  const std::string x57 = std::string(76, 'A');  // 57 bytes of base64url
  const std::string set_json =
      R"({"keys":[{"kty":"OKP","crv":"Ed448","kid":"ed448","x":")" + x57 +
      R"("},{"kty":"EC","crv":"secp256k1","kid":"k1","x":"AAAA","y":"AAAA"},)"
      R"({"kty":"OKP","crv":"X25519","kid":"x","x":"AAAA"},)"
      R"({"kty":"RSA","kid":"e1","n":"AQAB","e":"AQ"},)" +
      rsa.jwk + "]}";
  KeySet set;
  std::string error;
  ASSERT_TRUE(ParseJwks(set_json, set, error)) << error;
  ASSERT_EQ(set.keys.size(), 1u);
  EXPECT_EQ(set.keys[0].kid, "rs-1");
  EXPECT_EQ(set.skipped, 4);
  ASSERT_EQ(set.skip_notes.size(), 4u);
  EXPECT_NE(set.skip_notes[0].find("key 0 ('ed448'): OKP curve 'Ed448'"), std::string::npos)
      << set.skip_notes[0];
  EXPECT_NE(set.skip_notes[3].find("exponent"), std::string::npos) << set.skip_notes[3];
  // With nothing usable left the set is an error that says why.
  EXPECT_FALSE(
      ParseJwks(R"({"keys":[{"kty":"OKP","crv":"Ed448","x":")" + x57 + R"("}]})", set, error));
  EXPECT_NE(error.find("no key usable for signatures (key 0: OKP curve 'Ed448'"), std::string::npos)
      << error;
}

TEST(Jwks, CandidatesByKidAndAlgorithm) {
  const TestKey a = MakeEc("a"), b = MakeEc("b"), r = MakeRsa("a");
  KeySet set;
  std::string error;
  ASSERT_TRUE(ParseJwks(Jwks({&a, &b, &r}), set, error)) << error;
  std::vector<std::string> seen;
  auto collect = [&](const Jwk& k) {
    seen.push_back(k.kid + (k.type == KeyType::kEc ? "/ec" : "/rsa"));
    return false;
  };
  set.ForCandidates("a", Alg::kES256, collect);
  EXPECT_EQ(seen, std::vector<std::string>{"a/ec"});
  seen.clear();
  set.ForCandidates("", Alg::kES256, collect);  // no kid: every fitting key
  EXPECT_EQ(seen, (std::vector<std::string>{"a/ec", "b/ec"}));
  seen.clear();
  set.ForCandidates("../../etc/passwd", Alg::kES256, collect);
  set.ForCandidates("' OR 1=1 --", Alg::kES256, collect);
  EXPECT_TRUE(seen.empty());
}

}  // namespace
}  // namespace rampart::jwt
