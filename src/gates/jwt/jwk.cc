#include "gates/jwt/jwk.h"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "core/base64url.h"

namespace rampart::jwt {

namespace {

struct CtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamsFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};

bool Member(simdjson::dom::object o, std::string_view name, std::string& out, std::string& error) {
  bool found = false;
  const std::string_view s = JsonString(o, name, &found);
  out.clear();
  if (!found || s.empty() || !Base64UrlDecode(s, out) || out.empty()) {
    error = fmt::format("'{}' is missing or not base64url", name);
    return false;
  }
  return true;
}

PkeyPtr FromParams(const char* type, OSSL_PARAM* params) {
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return PkeyPtr(pkey);
}

bool ReadRsa(simdjson::dom::object o, Jwk& k, std::string& error) {
  std::string n, e;
  if (!Member(o, "n", n, error) || !Member(o, "e", e, error)) return false;
  std::unique_ptr<BIGNUM, BnFree> bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                                               static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> be(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                                               static_cast<int>(e.size()), nullptr));
  if (!bn || !be) {
    error = "bad RSA key";
    return false;
  }
  k.bits = BN_num_bits(bn.get());
  // An even or tiny exponent is not an RSA public key anyone should sign with.
  if (!BN_is_odd(be.get()) || BN_is_one(be.get()) || BN_num_bits(be.get()) > 64) {
    error = "RSA exponent is not a valid public exponent";
    return false;
  }
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn.get()) ||
      !OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, be.get())) {
    error = "bad RSA key";
    return false;
  }
  std::unique_ptr<OSSL_PARAM, ParamsFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
  k.pkey = FromParams("RSA", params.get());
  if (!k.pkey) {
    error = "bad RSA key";
    return false;
  }
  return true;
}

bool ReadEc(simdjson::dom::object o, Jwk& k, std::string& error) {
  const std::string_view crv = JsonString(o, "crv");
  const char* group = nullptr;
  std::size_t size = 0;
  if (crv == "P-256") {
    group = "prime256v1", size = 32;
  } else if (crv == "P-384") {
    group = "secp384r1", size = 48;
  } else if (crv == "P-521") {
    group = "secp521r1", size = 66;
  } else {
    error = fmt::format("EC curve '{}' is not P-256, P-384 or P-521", crv);
    return false;
  }
  std::string x, y;
  if (!Member(o, "x", x, error) || !Member(o, "y", y, error)) return false;
  if (x.size() != size || y.size() != size) {  // RFC 7518 §6.2.1.2: the full coordinate size
    error = fmt::format("EC coordinates must be {} bytes for {}", size, crv);
    return false;
  }
  std::string point;
  point.reserve(1 + 2 * size);
  point.push_back('\x04');
  point += x;
  point += y;
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, const_cast<char*>(group), 0),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()),
      OSSL_PARAM_construct_end()};
  k.pkey = FromParams("EC", params);
  if (!k.pkey) {
    error = "EC key is not a point on its curve";
    return false;
  }
  // The point must be on the curve and not the identity (invalid-curve attacks).
  std::unique_ptr<EVP_PKEY_CTX, CtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, k.pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    error = "EC key is not a valid point on its curve";
    k.pkey.reset();
    return false;
  }
  BIGNUM* order = nullptr;
  if (EVP_PKEY_get_bn_param(k.pkey.get(), OSSL_PKEY_PARAM_EC_ORDER, &order) != 1) {
    error = "EC key without a group order";
    k.pkey.reset();
    return false;
  }
  std::unique_ptr<BIGNUM, BnFree> order_guard(order);
  k.ec_order.assign(size, '\0');
  BN_bn2binpad(order, reinterpret_cast<unsigned char*>(k.ec_order.data()), static_cast<int>(size));
  k.curve.assign(crv);
  k.bits = static_cast<int>(size == 66 ? 521 : size * 8);
  return true;
}

bool ReadOkp(simdjson::dom::object o, Jwk& k, std::string& error) {
  const std::string_view crv = JsonString(o, "crv");
  if (crv != "Ed25519") {
    error = fmt::format("OKP curve '{}' is not Ed25519", crv);
    return false;
  }
  std::string x;
  if (!Member(o, "x", x, error)) return false;
  if (x.size() != 32) {
    error = "Ed25519 key must be 32 bytes";
    return false;
  }
  k.pkey.reset(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(x.data()), x.size()));
  if (!k.pkey) {
    error = "bad Ed25519 key";
    return false;
  }
  k.curve.assign(crv);
  k.bits = 256;
  return true;
}

// One JWK into `k`; false with `error`, or false with an empty error for a key that is simply
// not for signatures (skipped).
bool ReadKey(simdjson::dom::object o, Jwk& k, std::string& error) {
  bool has_use = false;
  const std::string_view use = JsonString(o, "use", &has_use);
  if (has_use && use != "sig") return false;
  if (auto ops = o.at_key("key_ops"); !ops.error()) {
    bool verify = false;
    if (ops.value_unsafe().is_array()) {
      for (auto op : AsArray(ops.value_unsafe())) {
        std::string_view s;
        if (!op.get_string().get(s) && s == "verify") verify = true;
      }
    }
    if (!verify) return false;
  }
  k.kid.assign(JsonString(o, "kid"));
  bool has_alg = false;
  const std::string_view alg = JsonString(o, "alg", &has_alg);
  if (has_alg) {
    k.alg = AlgFromName(alg);
    if (!k.alg) return false;  // an algorithm rampart does not verify (RSA-OAEP, ...)
  }
  const std::string_view kty = JsonString(o, "kty");
  if (kty == "RSA") {
    k.type = KeyType::kRsa;
    return ReadRsa(o, k, error);
  }
  if (kty == "EC") {
    k.type = KeyType::kEc;
    return ReadEc(o, k, error);
  }
  if (kty == "OKP") {
    k.type = KeyType::kOkp;
    return ReadOkp(o, k, error);
  }
  if (kty == "oct") {
    k.type = KeyType::kOct;
    return Member(o, "k", k.secret, error);
  }
  return false;  // unknown type: skipped
}

}  // namespace

bool ParseJwks(std::string_view json, KeySet& out, std::string& error) {
  out = KeySet{};
  StrictJson parser;
  simdjson::dom::element root;
  std::string_view json_error;
  if (!parser.Parse(json, root, json_error) || !root.is_object()) {
    error = json_error.empty() ? "not a JSON object" : fmt::format("invalid JSON ({})", json_error);
    return false;
  }
  simdjson::dom::object top = root.get_object().value_unsafe();
  std::vector<simdjson::dom::object> items;
  if (auto keys = top.at_key("keys"); !keys.error()) {
    if (!keys.value_unsafe().is_array()) {
      error = "'keys' is not an array";
      return false;
    }
    for (auto item : AsArray(keys.value_unsafe())) {
      if (!item.is_object()) {
        error = "a key is not a JSON object";
        return false;
      }
      items.push_back(item.get_object().value_unsafe());
    }
  } else {
    items.push_back(top);  // a single JWK
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    Jwk k;
    std::string key_error;
    if (ReadKey(items[i], k, key_error)) {
      out.keys.push_back(std::move(k));
    } else {
      // RFC 7517 §5: a key whose type, curve or values are not supported is ignored, so one
      // such key does not take the set's other keys down with it (rotation keeps working).
      ++out.skipped;
      if (!key_error.empty()) {
        // The kid is the key server's text: shown bounded, control bytes replaced, in the log.
        std::string kid = k.kid.substr(0, 64);
        for (char& c : kid) {
          if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
        }
        out.skip_notes.push_back(
            fmt::format("key {}{}: {}", i, kid.empty() ? "" : " ('" + kid + "')", key_error));
      }
    }
  }
  if (out.keys.empty()) {
    error = "no key usable for signatures";
    for (std::size_t i = 0; i < out.skip_notes.size() && i < 3; ++i) {
      error += (i == 0 ? " (" : "; ") + out.skip_notes[i];
    }
    if (!out.skip_notes.empty()) error += ")";
    return false;
  }
  return true;
}

bool KeyFits(const Jwk& key, Alg alg) noexcept {
  if (key.alg && *key.alg != alg) return false;
  switch (alg) {
    case Alg::kRS256:
    case Alg::kRS384:
    case Alg::kRS512:
    case Alg::kPS256:
    case Alg::kPS384:
    case Alg::kPS512:
      return key.type == KeyType::kRsa && key.bits >= 2048;
    case Alg::kES256:
      return key.type == KeyType::kEc && key.curve == "P-256";
    case Alg::kES384:
      return key.type == KeyType::kEc && key.curve == "P-384";
    case Alg::kES512:
      return key.type == KeyType::kEc && key.curve == "P-521";
    case Alg::kEdDSA:
      return key.type == KeyType::kOkp;
    case Alg::kHS256:
      return key.type == KeyType::kOct && key.secret.size() >= 32;
    case Alg::kHS384:
      return key.type == KeyType::kOct && key.secret.size() >= 48;
    case Alg::kHS512:
      return key.type == KeyType::kOct && key.secret.size() >= 64;
  }
  return false;
}

}  // namespace rampart::jwt
