// Verification keys from a JWK Set (RFC 7517): RSA (n, e; at least 2048 bits), EC (P-256, P-384,
// P-521; x and y of the curve's exact size, a point on the curve), OKP (Ed25519) and oct (HMAC
// secrets). Keys whose `use` is not "sig", and private members, are ignored: a public key set
// never needs them. Each key remembers what it may verify (its type, curve and, when the JWK
// names one, its `alg`), so a token cannot pick how its key is used.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gates/jwt/token.h"

namespace rampart::jwt {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

enum class KeyType : std::uint8_t { kRsa, kEc, kOkp, kOct };

struct Jwk {
  std::string kid;
  KeyType type = KeyType::kRsa;
  std::optional<Alg> alg;  // the JWK's own `alg`, when present: the only one it verifies
  int bits = 0;            // RSA modulus, EC field size
  std::string curve;       // EC and OKP: "P-256", "Ed25519", ...
  std::string ec_order;    // EC: the group order, big-endian, of the coordinate size
  PkeyPtr pkey;            // RSA, EC, OKP
  std::string secret;      // oct
};

struct KeySet {
  std::vector<Jwk> keys;
  int skipped = 0;  // keys present but not usable for signatures (enc keys, unknown types)
  // Keys skipped for a reason worth logging: a curve, exponent or member rampart cannot use
  // ("key 0 ('ed448'): OKP curve 'Ed448' is not Ed25519").
  std::vector<std::string> skip_notes;
  // Keys a token with this `kid` (may be empty) and `alg` may be checked with.
  template <typename F>
  void ForCandidates(std::string_view kid, Alg alg, F&& f) const;
};

// Parses a JWK Set document ({"keys": [...]}) or a single JWK. False with `error` (for the log
// and config errors) when it is not one, or when it holds no usable key. A key rampart cannot
// use (an unsupported curve, an out-of-range value, a point not on its curve) is skipped, not
// fatal to the set (RFC 7517 §5), and noted in `skip_notes`.
bool ParseJwks(std::string_view json, KeySet& out, std::string& error);

// Whether `key` may verify tokens signed with `alg`: the type and curve match the algorithm, the
// JWK's own alg (if any) is `alg`, RSA keys have at least 2048 bits, HMAC secrets at least the
// hash's size (RFC 7518 §3.2).
bool KeyFits(const Jwk& key, Alg alg) noexcept;

template <typename F>
void KeySet::ForCandidates(std::string_view kid, Alg alg, F&& f) const {
  for (const Jwk& k : keys) {
    if (!kid.empty() && k.kid != kid) continue;
    if (!KeyFits(k, alg)) continue;
    if (f(k)) return;
  }
}

}  // namespace rampart::jwt
