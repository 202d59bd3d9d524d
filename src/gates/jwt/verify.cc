#include "gates/jwt/verify.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>

namespace rampart::jwt {

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

// The digests, fetched once (an implicit fetch per call costs a provider lookup).
const EVP_MD* Digest(Alg alg) noexcept {
  static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static const EVP_MD* const sha384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static const EVP_MD* const sha512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (alg) {
    case Alg::kRS256:
    case Alg::kPS256:
    case Alg::kES256:
    case Alg::kHS256:
      return sha256;
    case Alg::kRS384:
    case Alg::kPS384:
    case Alg::kES384:
    case Alg::kHS384:
      return sha384;
    case Alg::kRS512:
    case Alg::kPS512:
    case Alg::kES512:
    case Alg::kHS512:
      return sha512;
    case Alg::kEdDSA:
      return nullptr;
  }
  return nullptr;
}

bool IsPss(Alg alg) noexcept {
  return alg == Alg::kPS256 || alg == Alg::kPS384 || alg == Alg::kPS512;
}
bool IsEcdsa(Alg alg) noexcept {
  return alg == Alg::kES256 || alg == Alg::kES384 || alg == Alg::kES512;
}
bool IsHmac(Alg alg) noexcept {
  return alg == Alg::kHS256 || alg == Alg::kHS384 || alg == Alg::kHS512;
}
std::size_t CoordinateSize(Alg alg) noexcept {
  return alg == Alg::kES256 ? 32 : alg == Alg::kES384 ? 48 : 66;
}

// One DER INTEGER of a big-endian unsigned value (leading zeros dropped, a zero byte added when
// the top bit is set).
void AppendDerInteger(std::string& out, std::string_view v) {
  while (v.size() > 1 && v[0] == 0) v.remove_prefix(1);
  const bool pad = (static_cast<unsigned char>(v[0]) & 0x80) != 0;
  out.push_back(0x02);
  out.push_back(static_cast<char>(v.size() + (pad ? 1 : 0)));
  if (pad) out.push_back(0);
  out.append(v);
}

// R||S into DER, refusing values outside [1, n-1] before OpenSSL sees them (it refuses them too;
// the check is stated here, where the bytes are).
bool EcdsaToDer(Alg alg, const Jwk& key, std::string_view sig, std::string& der) {
  const std::size_t n = CoordinateSize(alg);
  if (sig.size() != 2 * n || key.ec_order.size() != n) return false;
  const std::string_view r = sig.substr(0, n);
  const std::string_view s = sig.substr(n);
  auto in_range = [&](std::string_view v) {
    return v.find_first_not_of('\0') != std::string_view::npos && v < key.ec_order;
  };
  if (!in_range(r) || !in_range(s)) return false;
  std::string body;
  AppendDerInteger(body, r);
  AppendDerInteger(body, s);
  der.clear();
  der.push_back(0x30);
  if (body.size() >= 0x80) der.push_back(static_cast<char>(0x81));  // at most 2*(66+3) bytes
  der.push_back(static_cast<char>(body.size()));
  der += body;
  return true;
}

// Verification contexts set up for a (key, algorithm), kept per thread: setting one up (provider
// lookups, padding, digest) costs about as much as an RSA verification itself. A context holds
// a reference to its key, so a cached pointer always names the key it was made for. A few
// entries, replaced in turn: a provider's keys are few.
class VerifyContexts {
 public:
  ~VerifyContexts() {
    for (Entry& e : entries_) EVP_PKEY_CTX_free(e.ctx);
  }
  EVP_PKEY_CTX* For(EVP_PKEY* key, Alg alg) noexcept {
    for (Entry& e : entries_) {
      if (e.ctx != nullptr && e.key == key && e.alg == alg) return e.ctx;
    }
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr);
    if (ctx == nullptr || EVP_PKEY_verify_init(ctx) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx, Digest(alg)) != 1 ||
        (IsPss(alg) && (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
                        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Digest(alg)) != 1)) ||
        (!IsPss(alg) && !IsEcdsa(alg) &&
         EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)) {
      EVP_PKEY_CTX_free(ctx);
      return nullptr;
    }
    Entry& slot = entries_[next_++ % entries_.size()];
    EVP_PKEY_CTX_free(slot.ctx);
    slot = {key, alg, ctx};
    return ctx;
  }

 private:
  struct Entry {
    EVP_PKEY* key = nullptr;
    Alg alg{};
    EVP_PKEY_CTX* ctx = nullptr;
  };
  std::array<Entry, 8> entries_{};
  std::size_t next_ = 0;
};

bool Hmac(Alg alg, const Jwk& key, std::string_view input, unsigned char* mac,
          unsigned int& mac_len) {
  return HMAC(Digest(alg), key.secret.data(), static_cast<int>(key.secret.size()),
              reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
              &mac_len) != nullptr;
}

}  // namespace

bool VerifySignature(Alg alg, const Jwk& key, std::string_view signing_input,
                     std::string_view signature) noexcept {
  if (IsHmac(alg)) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!Hmac(alg, key, signing_input, mac, mac_len)) return false;
    return signature.size() == mac_len && CRYPTO_memcmp(mac, signature.data(), mac_len) == 0;
  }
  if (!key.pkey) return false;
  std::string der;
  if (IsEcdsa(alg)) {
    if (!EcdsaToDer(alg, key, signature, der)) return false;
    signature = der;
  }
  if (alg != Alg::kEdDSA) {
    // Hash, then verify the digest with a context set up once per thread.
    thread_local VerifyContexts contexts;
    EVP_PKEY_CTX* pctx = contexts.For(key.pkey.get(), alg);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (pctx == nullptr || EVP_Digest(signing_input.data(), signing_input.size(), digest,
                                      &digest_len, Digest(alg), nullptr) != 1) {
      return false;
    }
    return EVP_PKEY_verify(pctx, reinterpret_cast<const unsigned char*>(signature.data()),
                           signature.size(), digest, digest_len) == 1;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, Digest(alg), nullptr, key.pkey.get()) != 1) {
    return false;
  }
  if (IsPss(alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
                     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, Digest(alg)) != 1)) {
    return false;
  }
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()),
                          signing_input.size()) == 1;
}

bool SignForTest(Alg alg, const Jwk& key, EVP_PKEY* private_key, std::string_view signing_input,
                 std::string& signature) {
  if (IsHmac(alg)) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!Hmac(alg, key, signing_input, mac, mac_len)) return false;
    signature.assign(reinterpret_cast<char*>(mac), mac_len);
    return true;
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, Digest(alg), nullptr, private_key) != 1) {
    return false;
  }
  if (IsPss(alg) && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1)) {
    return false;
  }
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, signing_input.size()) != 1) return false;
  std::string der(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &len, in,
                     signing_input.size()) != 1) {
    return false;
  }
  der.resize(len);
  if (!IsEcdsa(alg)) {
    signature = std::move(der);
    return true;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
  if (!es) return false;
  const std::size_t n = CoordinateSize(alg);
  signature.assign(2 * n, '\0');
  auto* out = reinterpret_cast<unsigned char*>(signature.data());
  return BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), out, static_cast<int>(n)) > 0 &&
         BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), out + n, static_cast<int>(n)) > 0;
}

}  // namespace rampart::jwt
