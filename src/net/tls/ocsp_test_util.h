// Test PKI made in memory for the OCSP unit tests: P-256 keys, certificates with
// the extensions that matter (CA, OCSP signing, AIA), and signed OCSP responses with any times.
#pragma once

#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

namespace rampart::tls::testing {

struct Free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Free>;
using Cert = std::unique_ptr<X509, Free>;

inline Key NewKey() { return Key(EVP_EC_gen("P-256")); }

struct CertSpec {
  std::string cn;
  bool ca = false;
  bool ocsp_signing = false;   // extendedKeyUsage = OCSPSigning
  std::string ocsp_url;        // authorityInfoAccess OCSP;URI:...
  std::int64_t not_after = 0;  // Unix seconds; 0: in 30 days
};

// A certificate for `key`, signed by `issuer_key` as `issuer` (null: self-signed).
inline Cert MakeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  static long serial = 1;
  Cert x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), ++serial);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  if (spec.not_after) {
    ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(spec.not_after));
  } else {
    X509_gmtime_adj(X509_getm_notAfter(x.get()), 30L * 86400);
  }
  X509_set_pubkey(x.get(), key);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x.get(), e, -1);
    X509_EXTENSION_free(e);
  };
  add(NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  add(NID_subject_key_identifier, "hash");
  if (spec.ca) add(NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
  if (spec.ocsp_signing) add(NID_ext_key_usage, "OCSPSigning");
  if (!spec.ocsp_url.empty()) add(NID_info_access, "OCSP;URI:" + spec.ocsp_url);
  X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256());
  return x;
}

struct ResponseSpec {
  int status = V_OCSP_CERTSTATUS_GOOD;
  std::int64_t this_update = 0;
  std::int64_t next_update = 0;  // 0: none
  std::int64_t revoked_at = 0;
  bool include_signer = true;
};

// A successful OCSPResponse (DER) for `leaf` of `issuer`, signed by `signer` with `signer_key`.
inline std::string MakeResponse(X509* leaf, X509* issuer, X509* signer, EVP_PKEY* signer_key,
                                const ResponseSpec& spec) {
  OCSP_BASICRESP* bs = OCSP_BASICRESP_new();
  OCSP_CERTID* id = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
  ASN1_TIME* tu = ASN1_TIME_set(nullptr, static_cast<time_t>(spec.this_update));
  ASN1_TIME* nu =
      spec.next_update ? ASN1_TIME_set(nullptr, static_cast<time_t>(spec.next_update)) : nullptr;
  ASN1_TIME* rev =
      spec.revoked_at ? ASN1_TIME_set(nullptr, static_cast<time_t>(spec.revoked_at)) : nullptr;
  OCSP_basic_add1_status(bs, id, spec.status, OCSP_REVOKED_STATUS_KEYCOMPROMISE, rev, tu, nu);
  OCSP_basic_sign(bs, signer, signer_key, EVP_sha256(), nullptr,
                  spec.include_signer ? 0 : OCSP_NOCERTS);
  OCSP_RESPONSE* resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
  std::string der(static_cast<std::size_t>(i2d_OCSP_RESPONSE(resp, nullptr)), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_RESPONSE(resp, &p);
  OCSP_RESPONSE_free(resp);
  OCSP_BASICRESP_free(bs);
  OCSP_CERTID_free(id);
  ASN1_TIME_free(tu);
  ASN1_TIME_free(nu);
  ASN1_TIME_free(rev);
  return der;
}

// A CA, a leaf it issued that names `url` as its responder, and a delegated responder.
struct Pki {
  Key ca_key = NewKey(), leaf_key = NewKey(), responder_key = NewKey();
  Cert ca = MakeCert({.cn = "test CA", .ca = true}, ca_key.get(), nullptr, nullptr);
  Cert leaf = MakeCert({.cn = "localhost", .ocsp_url = "http://127.0.0.1:8888/ocsp"},
                       leaf_key.get(), ca.get(), ca_key.get());
  Cert responder = MakeCert({.cn = "responder", .ocsp_signing = true}, responder_key.get(),
                            ca.get(), ca_key.get());
  std::string Response(const ResponseSpec& spec) const {
    return MakeResponse(leaf.get(), ca.get(), responder.get(), responder_key.get(), spec);
  }
};

}  // namespace rampart::tls::testing
