// OCSP for stapling (RFC 6960, RFC 6066 section 8): the request for one server certificate, and
// the check of a responder's answer to it. No I/O and no clock: `now` (Unix seconds) is an
// argument, so tests and the fuzzer drive it. Fetching and holding staples is ocsp_staple.h.
#pragma once

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace rampart::tls {

enum class OcspCertStatus : std::uint8_t { kGood, kRevoked, kUnknown };
std::string_view OcspCertStatusToken(OcspCertStatus s) noexcept;  // good, revoked, unknown

// A response without nextUpdate ("newer information is always available") is treated as valid
// for this long after its thisUpdate: a staple is never served without an end.
inline constexpr std::int64_t kOcspNoNextUpdateSeconds = 3600;
// Clock skew allowed between rampart and the responder for thisUpdate.
inline constexpr std::int64_t kOcspClockSkewSeconds = 300;
// Larger answers are refused (a staple travels in every handshake that asks for it).
inline constexpr std::size_t kOcspMaxResponseBytes = 64 * 1024;

struct OcspResponse {
  OcspCertStatus status = OcspCertStatus::kUnknown;
  std::int64_t this_update = 0;  // Unix seconds
  std::int64_t next_update = 0;  // Unix seconds: the response's, or thisUpdate + 1h without one
  std::int64_t revoked_at = 0;   // Unix seconds, when revoked
  bool stale(std::int64_t now) const noexcept { return now >= next_update; }
};

// The first http(s) OCSP responder URL in the certificate's Authority Information Access; empty
// when it names none.
std::string OcspResponderUrl(X509* leaf);
// The certificate in `chain` that issued `leaf`, or null.
X509* FindIssuer(X509* leaf, STACK_OF(X509) * chain);

// One server certificate and its issuer: what is asked, and what an answer must prove.
// Immutable once made; safe to use from any thread.
class OcspSubject {
 public:
  // Takes references to `leaf` and `issuer` (the caller keeps its own).
  static std::unique_ptr<OcspSubject> Make(X509* leaf, X509* issuer, std::string* error);
  ~OcspSubject();
  OcspSubject(const OcspSubject&) = delete;
  OcspSubject& operator=(const OcspSubject&) = delete;

  // A DER OCSPRequest for the certificate (SHA-1 CertID, as responders expect; no nonce, since a
  // staple is shared by many clients).
  std::string Request() const;
  // Checks a DER OCSPResponse: well formed (all bytes used), status successful, signed by the
  // issuer or by a responder certificate the issuer delegated (id-kp-OCSPSigning), valid at
  // `now`, and answering for this certificate, with thisUpdate not in the future and
  // nextUpdate not before it. A stale (past nextUpdate) response passes: callers decide.
  // False with `error` set otherwise.
  bool Check(std::string_view der, std::int64_t now, OcspResponse& out, std::string* error) const;

 private:
  OcspSubject() = default;
  X509* leaf_ = nullptr;
  X509* issuer_ = nullptr;
  OCSP_CERTID* id_ = nullptr;
};

// When to fetch again (Unix seconds). After a good response: halfway through its validity,
// moved by up to a tenth of it either way (`jitter01` in [0, 1)), or halfway through what is
// left of it when that moment has passed, at most an hour away, and
// never later than a minute (a quarter of the validity, if shorter) before nextUpdate; never
// sooner than 5 seconds.
std::int64_t OcspRefreshAfterSuccess(std::int64_t now, const OcspResponse& r, double jitter01);
// After the `failures`th failure in a row (1, 2, ...): 2s, 4s, 8s ... up to 10 minutes, jittered
// by up to a fifth; while a good staple is held (`held_next_update` > now), at most halfway to
// its end.
std::int64_t OcspRetryAfterFailure(std::int64_t now, int failures, std::int64_t held_next_update,
                                   double jitter01);

}  // namespace rampart::tls
