#include "net/tls/ocsp_staple.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "core/strings.h"
#include "core/wall_clock.h"

namespace rampart::tls {
namespace {

// Called by OpenSSL after the SNI callback (on the SSL_CTX it chose) when the client sent
// status_request. OpenSSL frees what it is given: a copy, OPENSSL_malloc'd.
int OnStatusRequest(SSL* ssl, void* arg) {
  const auto* staple = static_cast<const OcspStaple*>(arg);
  const auto held = staple->held();
  if (!held || held->der.empty() || held->response.stale(WallSeconds()))
    return SSL_TLSEXT_ERR_NOACK;
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(held->der.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, held->der.data(), held->der.size());
  if (SSL_set_tlsext_status_ocsp_resp(ssl, copy, static_cast<long>(held->der.size())) != 1) {
    OPENSSL_free(copy);
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

std::string Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

// Fetched staples by certificate, issuer and responder; entries die with their last build.
std::shared_ptr<OcspStaple> SharedStaple(X509* leaf, X509* issuer, const std::string& url,
                                         const std::string& label, std::string* error) {
  static std::mutex mu;
  static std::map<std::string, std::weak_ptr<OcspStaple>> staples;
  const std::string key = Fingerprint(leaf) + Fingerprint(issuer) + url;
  std::lock_guard lock(mu);
  std::erase_if(staples, [](const auto& e) { return e.second.expired(); });
  if (auto s = staples[key].lock()) return s;
  auto subject = OcspSubject::Make(leaf, issuer, error);
  if (!subject) return nullptr;
  auto s = std::make_shared<OcspStaple>(OcspSource::kFetched, std::move(subject), url, label);
  staples[key] = s;
  return s;
}

void AppendTime(std::string& out, std::string_view name, std::int64_t t) {
  if (t == 0) {
    fmt::format_to(std::back_inserter(out), ",\"{}\":null", name);
  } else {
    fmt::format_to(std::back_inserter(out), ",\"{}\":{}", name, t);
  }
}

}  // namespace

OcspStaple::OcspStaple(OcspSource source, std::unique_ptr<OcspSubject> subject, std::string url,
                       std::string label)
    : source_(source),
      subject_(std::move(subject)),
      url_(std::move(url)),
      label_(std::move(label)) {}

void OcspStaple::Install(SSL_CTX* ctx, const OcspStaple* staple) {
  SSL_CTX_set_tlsext_status_cb(ctx, OnStatusRequest);
  SSL_CTX_set_tlsext_status_arg(ctx, const_cast<OcspStaple*>(staple));
}

void OcspStaple::Accept(std::string der, const OcspResponse& r, std::int64_t now, double jitter01) {
  held_.store(std::make_shared<const Held>(Held{std::move(der), r}), std::memory_order_release);
  failures_ = 0;
  last_error_.clear();
  if (source_ == OcspSource::kFetched) ++fetches_ok_;
  next_refresh_ = OcspRefreshAfterSuccess(now, r, jitter01);
}

void OcspStaple::Fail(std::string error, std::int64_t now, double jitter01) {
  ++failures_;
  ++fetches_failed_;
  const auto h = held();
  next_refresh_ = OcspRetryAfterFailure(now, failures_, h ? h->response.next_update : 0, jitter01);
  spdlog::warn("OCSP for '{}' from {}: {}; {}, next try in {}s", label_, url_, error,
               h && !h->response.stale(now) ? "the last good staple is kept" : "no staple",
               next_refresh_ - now);
  last_error_ = std::move(error);
}

void OcspStaple::Describe(std::int64_t now, std::string& out) const {
  const auto h = held();
  std::string_view status = "none";
  if (h) status = h->response.stale(now) ? "stale" : OcspCertStatusToken(h->response.status);
  out += source_ == OcspSource::kFetched ? "{\"source\":\"fetched\",\"url\":\""
                                         : "{\"source\":\"file\",\"file\":\"";
  AppendJsonEscaped(out, url_);
  fmt::format_to(std::back_inserter(out), "\",\"status\":\"{}\"", status);
  AppendTime(out, "this_update", h ? h->response.this_update : 0);
  AppendTime(out, "next_update", h ? h->response.next_update : 0);
  AppendTime(out, "next_refresh", source_ == OcspSource::kFetched ? next_refresh_ : 0);
  fmt::format_to(std::back_inserter(out), ",\"fetches_ok\":{},\"fetches_failed\":{}", fetches_ok_,
                 fetches_failed_);
  out += ",\"last_error\":\"";
  AppendJsonEscaped(out, last_error_);
  out += "\"}";
}

void DescribeNoStaple(std::string_view note, std::string& out) {
  out +=
      "{\"source\":\"none\",\"status\":\"none\",\"this_update\":null,\"next_update\":null,"
      "\"next_refresh\":null,\"last_error\":\"";
  AppendJsonEscaped(out, note);
  out += "\"}";
}

std::shared_ptr<OcspStaple> SetUpStapling(const config::TlsCertificate& cert,
                                          const std::string& file, SSL_CTX* ctx,
                                          const std::string& label, std::string* note,
                                          std::string* error) {
  if (cert.ocsp == config::OcspMode::kOff) {
    *note = "ocsp: off";
    return nullptr;
  }
  X509* leaf = SSL_CTX_get0_certificate(ctx);
  STACK_OF(X509)* chain = nullptr;
  SSL_CTX_get0_chain_certs(ctx, &chain);
  X509* issuer = FindIssuer(leaf, chain);
  std::shared_ptr<OcspStaple> staple;
  if (cert.ocsp == config::OcspMode::kFile) {
    if (issuer == nullptr) {
      *error = fmt::format("ocsp_file '{}': the issuer of '{}' is not in its chain", file, label);
      return nullptr;
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    if (!in) {
      *error = fmt::format("ocsp_file '{}': cannot read it: {}", file, std::strerror(errno));
      return nullptr;
    }
    auto subject = OcspSubject::Make(leaf, issuer, error);
    if (!subject) return nullptr;
    const std::int64_t now = WallSeconds();
    OcspResponse r;
    std::string why;
    if (!subject->Check(bytes.str(), now, r, &why)) {
      *error =
          fmt::format("ocsp_file '{}': not a valid OCSP response for '{}': {}", file, label, why);
      return nullptr;
    }
    if (r.stale(now))
      spdlog::warn("ocsp_file '{}' is stale (nextUpdate passed): it is not stapled", file);
    staple = std::make_shared<OcspStaple>(OcspSource::kFile, std::move(subject), file, label);
    staple->Accept(bytes.str(), r, now, 0);
  } else {
    const std::string url = OcspResponderUrl(leaf);
    if (url.empty()) {
      *note = "the certificate names no OCSP responder";
      return nullptr;
    }
    if (issuer == nullptr) {
      *note = "the issuer is not in the certificate's chain";
      return nullptr;
    }
    staple = SharedStaple(leaf, issuer, url, label, error);
    if (!staple) return nullptr;
  }
  OcspStaple::Install(ctx, staple.get());
  return staple;
}

}  // namespace rampart::tls
