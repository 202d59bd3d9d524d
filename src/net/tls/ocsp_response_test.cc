#include "net/tls/ocsp_response.h"

#include <gtest/gtest.h>

#include <chrono>

#include "net/tls/ocsp_test_util.h"

namespace rampart::tls {
namespace {

using testing::Cert;
using testing::CertSpec;
using testing::Key;
using testing::MakeCert;
using testing::MakeResponse;
using testing::NewKey;
using testing::ResponseSpec;

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class OcspCheck : public ::testing::Test {
 protected:
  OcspCheck() {
    std::string error;
    subject = OcspSubject::Make(pki.leaf.get(), pki.ca.get(), &error);
  }
  bool Check(const std::string& der, OcspResponse& r, std::string& error) const {
    return subject->Check(der, now, r, &error);
  }

  testing::Pki pki;
  std::unique_ptr<OcspSubject> subject;
  std::int64_t now = Now();
};

TEST_F(OcspCheck, RequestAsksForTheCertificateOnly) {
  const std::string der = subject->Request();
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  OCSP_REQUEST* req = d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(req, nullptr);
  ASSERT_EQ(OCSP_request_onereq_count(req), 1);
  OCSP_CERTID* want = OCSP_cert_to_id(EVP_sha1(), pki.leaf.get(), pki.ca.get());
  EXPECT_EQ(OCSP_id_cmp(OCSP_onereq_get0_id(OCSP_request_onereq_get0(req, 0)), want), 0);
  OCSP_CERTID_free(want);
  OCSP_REQUEST_free(req);
}

TEST_F(OcspCheck, GoodResponseFromADelegatedResponder) {
  OcspResponse r;
  std::string error;
  ASSERT_TRUE(Check(pki.Response({.this_update = now - 60, .next_update = now + 3600}), r, error))
      << error;
  EXPECT_EQ(r.status, OcspCertStatus::kGood);
  EXPECT_EQ(r.this_update, now - 60);
  EXPECT_EQ(r.next_update, now + 3600);
  EXPECT_FALSE(r.stale(now));
  EXPECT_TRUE(r.stale(now + 3600));
}

TEST_F(OcspCheck, GoodResponseSignedByTheIssuerItself) {
  const std::string der =
      MakeResponse(pki.leaf.get(), pki.ca.get(), pki.ca.get(), pki.ca_key.get(),
                   {.this_update = now, .next_update = now + 600, .include_signer = false});
  OcspResponse r;
  std::string error;
  ASSERT_TRUE(Check(der, r, error)) << error;
  EXPECT_EQ(r.status, OcspCertStatus::kGood);
}

TEST_F(OcspCheck, IntermediateIssuerIsEnough) {
  // The listener's chain holds the intermediate, not the root: it is the trust anchor here.
  Key ik = NewKey(), lk = NewKey();
  Cert inter =
      MakeCert({.cn = "intermediate", .ca = true}, ik.get(), pki.ca.get(), pki.ca_key.get());
  Cert leaf = MakeCert({.cn = "leaf"}, lk.get(), inter.get(), ik.get());
  std::string error;
  auto s = OcspSubject::Make(leaf.get(), inter.get(), &error);
  ASSERT_TRUE(s);
  OcspResponse r;
  EXPECT_TRUE(s->Check(MakeResponse(leaf.get(), inter.get(), inter.get(), ik.get(),
                                    {.this_update = now, .next_update = now + 600}),
                       now, r, &error))
      << error;
}

TEST_F(OcspCheck, RevokedAndUnknown) {
  OcspResponse r;
  std::string error;
  ASSERT_TRUE(Check(pki.Response({.status = V_OCSP_CERTSTATUS_REVOKED,
                                  .this_update = now,
                                  .next_update = now + 600,
                                  .revoked_at = now - 86400}),
                    r, error))
      << error;
  EXPECT_EQ(r.status, OcspCertStatus::kRevoked);
  EXPECT_EQ(r.revoked_at, now - 86400);
  EXPECT_EQ(OcspCertStatusToken(r.status), "revoked");
  ASSERT_TRUE(Check(
      pki.Response(
          {.status = V_OCSP_CERTSTATUS_UNKNOWN, .this_update = now, .next_update = now + 600}),
      r, error));
  EXPECT_EQ(r.status, OcspCertStatus::kUnknown);
}

TEST_F(OcspCheck, NoNextUpdateMeansAnHour) {
  OcspResponse r;
  std::string error;
  ASSERT_TRUE(Check(pki.Response({.this_update = now - 10}), r, error)) << error;
  EXPECT_EQ(r.next_update, now - 10 + kOcspNoNextUpdateSeconds);
}

TEST_F(OcspCheck, StaleResponsePassesTheCheckButSaysSo) {
  OcspResponse r;
  std::string error;
  ASSERT_TRUE(
      Check(pki.Response({.this_update = now - 7200, .next_update = now - 3600}), r, error));
  EXPECT_TRUE(r.stale(now));
}

TEST_F(OcspCheck, RefusesWrongSignersAndWrongCertificates) {
  std::string error;
  OcspResponse r;
  const ResponseSpec times{.this_update = now, .next_update = now + 600};
  // Another CA's key.
  Key ok = NewKey();
  Cert other = MakeCert({.cn = "other CA", .ca = true}, ok.get(), nullptr, nullptr);
  EXPECT_FALSE(
      Check(MakeResponse(pki.leaf.get(), pki.ca.get(), other.get(), ok.get(), times), r, error));
  EXPECT_NE(error.find("signature"), std::string::npos) << error;
  // A certificate of the same CA, but not delegated for OCSP signing.
  Key sk = NewKey();
  Cert sibling = MakeCert({.cn = "sibling"}, sk.get(), pki.ca.get(), pki.ca_key.get());
  EXPECT_FALSE(
      Check(MakeResponse(pki.leaf.get(), pki.ca.get(), sibling.get(), sk.get(), times), r, error));
  // A responder delegated by another CA.
  Cert stranger =
      MakeCert({.cn = "stranger", .ocsp_signing = true}, sk.get(), other.get(), ok.get());
  EXPECT_FALSE(
      Check(MakeResponse(pki.leaf.get(), pki.ca.get(), stranger.get(), sk.get(), times), r, error));
  // A good answer, for another certificate.
  Key lk = NewKey();
  Cert leaf2 = MakeCert({.cn = "other leaf"}, lk.get(), pki.ca.get(), pki.ca_key.get());
  EXPECT_FALSE(Check(
      MakeResponse(leaf2.get(), pki.ca.get(), pki.responder.get(), pki.responder_key.get(), times),
      r, error));
  EXPECT_EQ(error, "the response does not answer for this certificate");
  // A responder certificate that has expired.
  Key ek = NewKey();
  Cert expired = MakeCert({.cn = "old responder", .ocsp_signing = true, .not_after = now - 60},
                          ek.get(), pki.ca.get(), pki.ca_key.get());
  EXPECT_FALSE(
      Check(MakeResponse(pki.leaf.get(), pki.ca.get(), expired.get(), ek.get(), times), r, error));
}

TEST_F(OcspCheck, RefusesBadTimes) {
  OcspResponse r;
  std::string error;
  EXPECT_FALSE(
      Check(pki.Response({.this_update = now + 3600, .next_update = now + 7200}), r, error));
  EXPECT_EQ(error, "thisUpdate is in the future");
  EXPECT_TRUE(Check(pki.Response({.this_update = now + 60, .next_update = now + 7200}), r, error))
      << "a little clock skew is allowed";
  EXPECT_FALSE(Check(pki.Response({.this_update = now, .next_update = now - 60}), r, error));
  EXPECT_EQ(error, "nextUpdate is before thisUpdate");
}

TEST_F(OcspCheck, RefusesMalformedBytes) {
  OcspResponse r;
  std::string error;
  EXPECT_FALSE(Check("", r, error));
  EXPECT_FALSE(Check("not DER at all", r, error));
  const std::string good = pki.Response({.this_update = now, .next_update = now + 600});
  EXPECT_FALSE(Check(good + "x", r, error));
  EXPECT_EQ(error, "bytes after the OCSP response");
  EXPECT_FALSE(Check(good.substr(0, good.size() - 1), r, error));
  EXPECT_FALSE(Check(std::string(kOcspMaxResponseBytes + 1, '\x30'), r, error));
  // A responder's error status ("try later") carries no response.
  OCSP_RESPONSE* later = OCSP_response_create(OCSP_RESPONSE_STATUS_TRYLATER, nullptr);
  std::string der(static_cast<std::size_t>(i2d_OCSP_RESPONSE(later, nullptr)), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_RESPONSE(later, &p);
  OCSP_RESPONSE_free(later);
  EXPECT_FALSE(Check(der, r, error));
  EXPECT_EQ(error, "responder answered trylater");
}

TEST(OcspCertificate, ResponderUrlAndIssuer) {
  testing::Pki pki;
  EXPECT_EQ(OcspResponderUrl(pki.leaf.get()), "http://127.0.0.1:8888/ocsp");
  EXPECT_EQ(OcspResponderUrl(pki.ca.get()), "");
  STACK_OF(X509)* chain = sk_X509_new_null();
  EXPECT_EQ(FindIssuer(pki.leaf.get(), chain), nullptr);
  sk_X509_push(chain, pki.responder.get());
  sk_X509_push(chain, pki.ca.get());
  EXPECT_EQ(FindIssuer(pki.leaf.get(), chain), pki.ca.get());
  sk_X509_free(chain);
}

TEST(OcspRefresh, HalfwayWithJitterCappedAndBeforeNextUpdate) {
  const std::int64_t now = 1'000'000;
  const OcspResponse day{.this_update = now, .next_update = now + 1200};
  EXPECT_EQ(OcspRefreshAfterSuccess(now, day, 0.5), now + 600);
  EXPECT_EQ(OcspRefreshAfterSuccess(now, day, 0.0), now + 600 - 120);
  EXPECT_EQ(OcspRefreshAfterSuccess(now, day, 0.999), now + 600 + 120);
  // A week's validity: refreshed within the hour, to learn of a revocation.
  const OcspResponse week{.this_update = now, .next_update = now + 7 * 86400};
  EXPECT_EQ(OcspRefreshAfterSuccess(now, week, 0.5), now + 3600);
  // A response already near its end (a responder's cache): soon, but not in a loop.
  const OcspResponse old{.this_update = now - 3000, .next_update = now + 100};
  EXPECT_EQ(OcspRefreshAfterSuccess(now, old, 0.5), now + 40);  // a minute before the end
  const OcspResponse short_lived{.this_update = now, .next_update = now + 60};
  EXPECT_EQ(OcspRefreshAfterSuccess(now, short_lived, 0.5), now + 30);
  const OcspResponse ending{.this_update = now - 100, .next_update = now + 2};
  EXPECT_EQ(OcspRefreshAfterSuccess(now, ending, 0.5), now + 5);
}

TEST(OcspRefresh, BackoffAfterFailuresNeverPastTheHeldStaple) {
  const std::int64_t now = 1'000'000;
  EXPECT_EQ(OcspRetryAfterFailure(now, 1, 0, 0), now + 2);
  EXPECT_EQ(OcspRetryAfterFailure(now, 2, 0, 0), now + 4);
  EXPECT_EQ(OcspRetryAfterFailure(now, 3, 0, 0), now + 8);
  EXPECT_EQ(OcspRetryAfterFailure(now, 10, 0, 0), now + 600);
  EXPECT_EQ(OcspRetryAfterFailure(now, 1000, 0, 0), now + 600);
  EXPECT_EQ(OcspRetryAfterFailure(now, 10, 0, 0.999), now + 600 - 120);
  // A good staple ends in 5 minutes: try again halfway there.
  EXPECT_EQ(OcspRetryAfterFailure(now, 10, now + 300, 0), now + 150);
  EXPECT_EQ(OcspRetryAfterFailure(now, 1, now + 300, 0), now + 2);
  EXPECT_EQ(OcspRetryAfterFailure(now, 10, now + 1, 0), now + 1);
  EXPECT_EQ(OcspRetryAfterFailure(now, 10, now - 30, 0), now + 600) << "stale: plain backoff";
}

}  // namespace
}  // namespace rampart::tls
