#include "net/tls/ocsp_response.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "core/strings.h"

namespace rampart::tls {
namespace {

std::string OpenSslError(std::string_view what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(what);
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return std::string(what) + " (" + buf + ")";
}

bool ToUnix(const ASN1_GENERALIZEDTIME* t, std::int64_t& out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  out = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

struct Deleter {
  void operator()(OCSP_RESPONSE* p) const { OCSP_RESPONSE_free(p); }
  void operator()(OCSP_BASICRESP* p) const { OCSP_BASICRESP_free(p); }
  void operator()(OCSP_REQUEST* p) const { OCSP_REQUEST_free(p); }
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Deleter>;

}  // namespace

std::string_view OcspCertStatusToken(OcspCertStatus s) noexcept {
  switch (s) {
    case OcspCertStatus::kGood:
      return "good";
    case OcspCertStatus::kRevoked:
      return "revoked";
    case OcspCertStatus::kUnknown:
      break;
  }
  return "unknown";
}

std::string OcspResponderUrl(X509* leaf) {
  std::string out;
  STACK_OF(OPENSSL_STRING)* urls = X509_get1_ocsp(leaf);
  for (int i = 0; i < sk_OPENSSL_STRING_num(urls) && out.empty(); ++i) {
    std::string_view u = sk_OPENSSL_STRING_value(urls, i);
    if (IStartsWith(u, "http://") || IStartsWith(u, "https://")) out = std::string(u);
  }
  X509_email_free(urls);  // the same stack type, freed the same way
  return out;
}

X509* FindIssuer(X509* leaf, STACK_OF(X509) * chain) {
  for (int i = 0; i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (X509_check_issued(c, leaf) == X509_V_OK) return c;
  }
  return nullptr;
}

std::unique_ptr<OcspSubject> OcspSubject::Make(X509* leaf, X509* issuer, std::string* error) {
  std::unique_ptr<OcspSubject> s(new OcspSubject());
  s->id_ = OCSP_cert_to_id(EVP_sha1(), leaf, issuer);
  if (s->id_ == nullptr) {
    *error = OpenSslError("cannot make the OCSP certificate id");
    return nullptr;
  }
  X509_up_ref(leaf);
  X509_up_ref(issuer);
  s->leaf_ = leaf;
  s->issuer_ = issuer;
  return s;
}

OcspSubject::~OcspSubject() {
  OCSP_CERTID_free(id_);
  X509_free(leaf_);
  X509_free(issuer_);
}

std::string OcspSubject::Request() const {
  Owned<OCSP_REQUEST> req(OCSP_REQUEST_new());
  OCSP_CERTID* id = OCSP_CERTID_dup(id_);
  if (!req || id == nullptr || OCSP_request_add0_id(req.get(), id) == nullptr) {
    OCSP_CERTID_free(id);
    ERR_clear_error();
    return {};
  }
  const int n = i2d_OCSP_REQUEST(req.get(), nullptr);
  if (n <= 0) return {};
  std::string der(static_cast<std::size_t>(n), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_REQUEST(req.get(), &p);
  return der;
}

bool OcspSubject::Check(std::string_view der, std::int64_t now, OcspResponse& out,
                        std::string* error) const {
  ERR_clear_error();
  auto fail = [&](std::string msg) {
    *error = std::move(msg);
    return false;
  };
  if (der.empty()) return fail("empty response");
  if (der.size() > kOcspMaxResponseBytes) return fail("response larger than 64KiB");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  Owned<OCSP_RESPONSE> resp(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!resp) return fail(OpenSslError("not a DER OCSP response"));
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return fail("bytes after the OCSP response");
  const int rs = OCSP_response_status(resp.get());
  if (rs != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return fail(std::string("responder answered ") + OCSP_response_status_str(rs));
  Owned<OCSP_BASICRESP> basic(OCSP_response_get1_basic(resp.get()));
  if (!basic) return fail(OpenSslError("not a basic OCSP response"));

  // Trust only the issuer (an intermediate is a trust anchor here: PARTIAL_CHAIN): the signer
  // must be it, or a certificate it issued for OCSP signing (checked by OCSP_basic_verify).
  Owned<X509_STORE> store(X509_STORE_new());
  Owned<STACK_OF(X509)> certs(sk_X509_new_null());
  if (!store || !certs || X509_STORE_add_cert(store.get(), issuer_) != 1 ||
      sk_X509_push(certs.get(), issuer_) <= 0) {
    return fail(OpenSslError("out of memory"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_get0_param(store.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(now));
  // OCSP_NOEXPLICIT: without it OpenSSL also accepts any signer whose chain ends at a root
  // trusted for OCSP signing, which a self-signed root is by default: a sibling certificate of
  // ours could then vouch for us.
  if (OCSP_basic_verify(basic.get(), certs.get(), store.get(), OCSP_NOEXPLICIT) != 1)
    return fail(OpenSslError("signature does not verify against the issuer"));

  int status = -1, reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), id_, &status, &reason, &revoked, &this_update,
                            &next_update) != 1) {
    ERR_clear_error();
    return fail("the response does not answer for this certificate");
  }
  OcspResponse r;
  switch (status) {
    case V_OCSP_CERTSTATUS_GOOD:
      r.status = OcspCertStatus::kGood;
      break;
    case V_OCSP_CERTSTATUS_REVOKED:
      r.status = OcspCertStatus::kRevoked;
      if (!ToUnix(revoked, r.revoked_at)) return fail("bad revocationTime");
      break;
    default:
      r.status = OcspCertStatus::kUnknown;
  }
  if (!ToUnix(this_update, r.this_update)) return fail("bad thisUpdate");
  if (r.this_update > now + kOcspClockSkewSeconds) return fail("thisUpdate is in the future");
  if (next_update == nullptr) {
    r.next_update = r.this_update + kOcspNoNextUpdateSeconds;
  } else if (!ToUnix(next_update, r.next_update)) {
    return fail("bad nextUpdate");
  } else if (r.next_update < r.this_update) {
    return fail("nextUpdate is before thisUpdate");
  }
  ERR_clear_error();
  out = r;
  return true;
}

std::int64_t OcspRefreshAfterSuccess(std::int64_t now, const OcspResponse& r, double jitter01) {
  const std::int64_t window = std::max<std::int64_t>(0, r.next_update - r.this_update);
  const auto jitter = static_cast<std::int64_t>(std::llround((jitter01 * 2 - 1) * window / 10.0));
  std::int64_t at = r.this_update + window / 2 + jitter;
  if (at <= now) at = now + (r.next_update - now) / 2;  // a responder's cached, older answer
  at = std::min(at, now + 3600);
  at = std::min(at, r.next_update - std::min<std::int64_t>(60, window / 4));
  return std::max(at, now + 5);
}

std::int64_t OcspRetryAfterFailure(std::int64_t now, int failures, std::int64_t held_next_update,
                                   double jitter01) {
  const int doublings = std::clamp(failures, 1, 20) - 1;
  const std::int64_t base = std::min<std::int64_t>(std::int64_t{2} << doublings, 600);
  const auto jitter = static_cast<std::int64_t>(std::llround(jitter01 * base / 5.0));
  std::int64_t at = now + std::max<std::int64_t>(1, base - jitter);
  // Halving what is left of a held staple: several tries before it ends, however long it lasts.
  if (held_next_update > now)
    at = std::min(at, now + std::max<std::int64_t>(1, (held_next_update - now) / 2));
  return at;
}

}  // namespace rampart::tls
