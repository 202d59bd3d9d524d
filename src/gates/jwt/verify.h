// A JWS signature checked by OpenSSL: RSASSA-PKCS1-v1_5 and RSASSA-PSS (salt = hash size, MGF1
// with the same hash: RFC 7518 §3.5), ECDSA with the raw R||S form of RFC 7518 §3.4 (each of
// the curve's size, each in [1, n-1]: a zero signature never verifies, CVE-2022-21449), Ed25519,
// and HMAC compared in constant time. The caller has checked KeyFits(key, alg).
#pragma once

#include <string_view>

#include "gates/jwt/jwk.h"

namespace rampart::jwt {

bool VerifySignature(Alg alg, const Jwk& key, std::string_view signing_input,
                     std::string_view signature) noexcept;

// Signs (tests and benchmarks only: rampart never issues tokens). HMAC with `key.secret`, else
// with `private_key`. The signature in JWS form (R||S for ECDSA).
bool SignForTest(Alg alg, const Jwk& key, EVP_PKEY* private_key, std::string_view signing_input,
                 std::string& signature);

}  // namespace rampart::jwt
