// OCSP response check (net/tls/ocsp_response.h) on untrusted bytes: no crash, no leak, and what
// passes is self-consistent. The certificates are fixed (the corpus holds responses an
// `openssl ocsp` responder signed for them: good, revoked, without nextUpdate), so inputs near
// the corpus reach past the signature check.
#include <openssl/pem.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "net/tls/ocsp_response.h"

namespace {

constexpr const char* kCa =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBeTCCAR+gAwIBAgIUP/76vsxhMD1UIj6NRYNAYa45sSQwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHZnV6eiBDQTAeFw0yNjEyMDYwNDAzMzFaFw00NjEyMDEwNDAz\n"
    "MzFaMBIxEDAOBgNVBAMMB2Z1enogQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC\n"
    "AAQbcfCT/MABbGrPnH4Vb591kf8rvlX3+cSXLgALYCnQ2aItQ0DAhvg1J2fChtjR\n"
    "jdrs354XeIkB94CzKijmJguQo1MwUTAdBgNVHQ4EFgQUzkTiRKOBMhrL8JLs8oS0\n"
    "eSlotq4wHwYDVR0jBBgwFoAUzkTiRKOBMhrL8JLs8oS0eSlotq4wDwYDVR0TAQH/\n"
    "BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiANNGQiEHoKJaNSecjNgk/js9bDMfdl\n"
    "hIxd1WXiW3ChcwIhAJRxbJSf4s3VK5LE+PqPsZsNx9Yt1ML06F9JAqFlVkE8\n"
    "-----END CERTIFICATE-----\n";
constexpr const char* kLeaf =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBsTCCAVmgAwIBAgIUeZdJI15SzgRh312lXXmJZHjLpDUwCgYIKoZIzj0EAwIw\n"
    "EjEQMA4GA1UEAwwHZnV6eiBDQTAeFw0yNjEyMDYwNDAzMzFaFw00NjEyMDEwNDAz\n"
    "MzFaMBQxEjAQBgNVBAMMCWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEH\n"
    "A0IABEU6s4ik+ezN7CxfjLzb1Xcc3tBmRVOAyfBW7yrsl6dLh01rwwHb0+GPphn8\n"
    "7K2c8G5+zgCLxzb8zxNk8DeV+hejgYowgYcwFAYDVR0RBA0wC4IJbG9jYWxob3N0\n"
    "MC8GCCsGAQUFBwEBBCMwITAfBggrBgEFBQcwAYYTaHR0cDovLzEyNy4wLjAuMTo5\n"
    "LzAdBgNVHQ4EFgQUx5D0LQsq/mHoUp+9/OX4zUmS/zowHwYDVR0jBBgwFoAUzkTi\n"
    "RKOBMhrL8JLs8oS0eSlotq4wCgYIKoZIzj0EAwIDRgAwQwIgSWgHaTkMrZFiThZJ\n"
    "9/xNbHLNpxTK4yt3HR5Pz9TBnxMCH1zXIpiATaWhabu7zXdgsPhASwNn3Fh+n6jK\n"
    "6FJAk60=\n"
    "-----END CERTIFICATE-----\n";
// Just after the corpus responses were made; the certificates are valid until 2046.
constexpr std::int64_t kNow = 1796529814 + 60;

X509* ReadPem(const char* pem) {
  BIO* bio = BIO_new_mem_buf(pem, -1);
  X509* x = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (x == nullptr) std::abort();
  return x;
}

const rampart::tls::OcspSubject& Subject() {
  static const std::unique_ptr<rampart::tls::OcspSubject> subject = [] {
    X509* ca = ReadPem(kCa);
    X509* leaf = ReadPem(kLeaf);
    std::string error;
    auto s = rampart::tls::OcspSubject::Make(leaf, ca, &error);
    X509_free(ca);
    X509_free(leaf);
    if (!s || s->Request().empty()) std::abort();
    return s;
  }();
  return *subject;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  rampart::tls::OcspResponse r;
  std::string error;
  if (Subject().Check(in, kNow, r, &error)) {
    if (r.next_update < r.this_update) std::abort();
    if (r.this_update > kNow + rampart::tls::kOcspClockSkewSeconds) std::abort();
    if (!error.empty()) std::abort();
  } else if (error.empty()) {
    std::abort();
  }
  return 0;
}
