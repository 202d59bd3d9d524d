// A server certificate's OCSP staple (issue 14): the last good response, served to clients that
// ask (status_request) while it is fresh. Its source is the responder named in the certificate
// (fetched in the background by server/ocsp_refresher.h) or a file the operator keeps current.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "config/config.h"
#include "net/tls/ocsp_response.h"

namespace rampart::tls {

enum class OcspSource : std::uint8_t { kFetched, kFile };

class OcspStaple {
 public:
  struct Held {
    std::string der;  // the OCSPResponse as the responder signed it
    OcspResponse response;
  };

  OcspStaple(OcspSource source, std::unique_ptr<OcspSubject> subject, std::string url,
             std::string label);

  // Makes handshakes on `ctx` that ask for a staple get this one's held response while it is
  // fresh (checked against the wall clock at each handshake). `staple` outlives `ctx`.
  static void Install(SSL_CTX* ctx, const OcspStaple* staple);
  // Any thread: the held response, or null.
  std::shared_ptr<const Held> held() const { return held_.load(std::memory_order_acquire); }

  OcspSource source() const noexcept { return source_; }
  const OcspSubject& subject() const noexcept { return *subject_; }
  const std::string& url() const noexcept { return url_; }      // fetched: the responder
  const std::string& label() const noexcept { return label_; }  // the certificate file

  // Control thread only, from here on.
  bool due(std::int64_t now) const noexcept {
    return source_ == OcspSource::kFetched && !fetching_ && now >= next_refresh_;
  }
  void set_fetching(bool f) noexcept { fetching_ = f; }
  // A checked response replaces the held one; a fetched staple is refreshed again halfway.
  void Accept(std::string der, const OcspResponse& r, std::int64_t now, double jitter01);
  // A failed fetch: the held response stays until it goes stale; retried with backoff.
  void Fail(std::string error, std::int64_t now, double jitter01);
  std::uint64_t fetches_ok() const noexcept { return fetches_ok_; }
  std::uint64_t fetches_failed() const noexcept { return fetches_failed_; }
  // A JSON object: source, url, status (good, revoked, unknown, stale, none), this_update,
  // next_update, next_refresh (Unix seconds or null), last_error.
  void Describe(std::int64_t now, std::string& out) const;

 private:
  const OcspSource source_;
  const std::unique_ptr<OcspSubject> subject_;
  const std::string url_, label_;
  std::atomic<std::shared_ptr<const Held>> held_;
  std::int64_t next_refresh_ = 0;
  bool fetching_ = false;
  int failures_ = 0;  // in a row
  std::string last_error_;
  std::uint64_t fetches_ok_ = 0, fetches_failed_ = 0;
};

// Stapling for one certificate of a listener, set up on its SSL_CTX (whose chain is loaded):
// null with `note` saying why when there is nothing to staple (`ocsp: off`, no responder URL,
// issuer not in the chain); null with `error` set when `ocsp_file` cannot be used (unreadable,
// or not a valid response for this certificate). `file` is `cert.ocsp_file` resolved. A fetched
// staple is shared by every build serving the same certificate, issuer and responder, so that
// reloads and rotations that keep the certificate keep its staple and schedule.
std::shared_ptr<OcspStaple> SetUpStapling(const config::TlsCertificate& cert,
                                          const std::string& file, SSL_CTX* ctx,
                                          const std::string& label, std::string* note,
                                          std::string* error);

// JSON for a certificate without a staple: {"source":"none","status":"none",...,"last_error":note}.
void DescribeNoStaple(std::string_view note, std::string& out);

}  // namespace rampart::tls
