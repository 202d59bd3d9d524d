#include "net/tls/ocsp_staple.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>

#include "net/tls/ocsp_test_util.h"

namespace rampart::tls {
namespace {

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A server SSL_CTX serving the test PKI's leaf with the CA in its chain.
struct ServerCtx {
  explicit ServerCtx(const testing::Pki& pki) : ctx(SSL_CTX_new(TLS_server_method())) {
    SSL_CTX_use_certificate(ctx, pki.leaf.get());
    SSL_CTX_add1_chain_cert(ctx, pki.ca.get());
    SSL_CTX_use_PrivateKey(ctx, pki.leaf_key.get());
  }
  ~ServerCtx() { SSL_CTX_free(ctx); }
  SSL_CTX* ctx;
};

// One in-memory handshake from a client that asks for a staple: what it was given ("" if none).
std::string StapleSeenByClient(SSL_CTX* server_ctx) {
  SSL_CTX* cctx = SSL_CTX_new(TLS_client_method());
  SSL* client = SSL_new(cctx);
  SSL* server = SSL_new(server_ctx);
  BIO *cb = nullptr, *sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  SSL_set_tlsext_status_type(client, TLSEXT_STATUSTYPE_ocsp);
  bool client_done = false, server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) client_done = SSL_do_handshake(client) == 1;
    if (!server_done) server_done = SSL_do_handshake(server) == 1;
  }
  EXPECT_TRUE(client_done && server_done);
  const unsigned char* resp = nullptr;
  const long n = SSL_get_tlsext_status_ocsp_resp(client, &resp);
  std::string out = n > 0 && resp ? std::string(reinterpret_cast<const char*>(resp), n) : "";
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(cctx);
  return out;
}

std::unique_ptr<OcspStaple> Fetched(const testing::Pki& pki) {
  std::string error;
  return std::make_unique<OcspStaple>(OcspSource::kFetched,
                                      OcspSubject::Make(pki.leaf.get(), pki.ca.get(), &error),
                                      "http://127.0.0.1:8888/ocsp", "leaf.pem");
}

TEST(OcspStaple, StapledWhileFreshNeverOnceStale) {
  testing::Pki pki;
  ServerCtx server(pki);
  auto staple = Fetched(pki);
  OcspStaple::Install(server.ctx, staple.get());
  EXPECT_EQ(StapleSeenByClient(server.ctx), "") << "nothing held yet";

  const std::int64_t now = Now();
  const std::string fresh = pki.Response({.this_update = now - 10, .next_update = now + 600});
  staple->Accept(
      fresh, {.status = OcspCertStatus::kGood, .this_update = now - 10, .next_update = now + 600},
      now, 0.5);
  EXPECT_EQ(StapleSeenByClient(server.ctx), fresh);

  // The handshake looks at the wall clock: a response past nextUpdate is not served.
  const std::string old = pki.Response({.this_update = now - 600, .next_update = now - 1});
  staple->Accept(old, {.this_update = now - 600, .next_update = now - 1}, now, 0.5);
  EXPECT_EQ(StapleSeenByClient(server.ctx), "");
}

TEST(OcspStaple, FailuresKeepTheLastGoodResponseAndSayWhy) {
  testing::Pki pki;
  auto staple = Fetched(pki);
  const std::int64_t now = Now();
  EXPECT_TRUE(staple->due(now));
  staple->set_fetching(true);
  EXPECT_FALSE(staple->due(now)) << "one fetch at a time";
  staple->set_fetching(false);
  staple->Accept("der",
                 {.status = OcspCertStatus::kGood, .this_update = now, .next_update = now + 1200},
                 now, 0.5);
  EXPECT_FALSE(staple->due(now + 599));
  EXPECT_TRUE(staple->due(now + 600));
  staple->Fail("connection refused", now + 600, 0);
  ASSERT_TRUE(staple->held());
  EXPECT_EQ(staple->held()->der, "der");
  EXPECT_TRUE(staple->due(now + 602));
  EXPECT_EQ(staple->fetches_ok(), 1u);
  EXPECT_EQ(staple->fetches_failed(), 1u);
  std::string json;
  staple->Describe(now + 601, json);
  EXPECT_EQ(json, fmt::format("{{\"source\":\"fetched\",\"url\":\"http://127.0.0.1:8888/ocsp\","
                              "\"status\":\"good\",\"this_update\":{},\"next_update\":{},"
                              "\"next_refresh\":{},\"fetches_ok\":1,\"fetches_failed\":1,"
                              "\"last_error\":\"connection refused\"}}",
                              now, now + 1200, now + 602));
  json.clear();
  staple->Describe(now + 1200, json);
  EXPECT_NE(json.find("\"status\":\"stale\""), std::string::npos) << json;
}

class TempFile {
 public:
  explicit TempFile(const std::string& bytes) {
    char name[] = "/tmp/ocsp_staple_test_XXXXXX";
    const int fd = mkstemp(name);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary) << bytes;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(OcspStapling, FileModeIsCheckedAtLoadAndServed) {
  testing::Pki pki;
  ServerCtx server(pki);
  const std::int64_t now = Now();
  const std::string der = pki.Response({.status = V_OCSP_CERTSTATUS_REVOKED,
                                        .this_update = now,
                                        .next_update = now + 600,
                                        .revoked_at = now - 60});
  TempFile file(der);
  config::TlsCertificate cert{.cert = "leaf.pem", .ocsp = config::OcspMode::kFile};
  std::string note, error;
  auto staple = SetUpStapling(cert, file.path(), server.ctx, "leaf.pem", &note, &error);
  ASSERT_TRUE(staple) << error;
  EXPECT_EQ(staple->source(), OcspSource::kFile);
  EXPECT_FALSE(staple->due(now + 10000)) << "a file is never fetched";
  EXPECT_EQ(staple->held()->response.status, OcspCertStatus::kRevoked);
  EXPECT_EQ(StapleSeenByClient(server.ctx), der) << "a revoked answer is stapled too";

  TempFile junk("junk");
  EXPECT_FALSE(SetUpStapling(cert, junk.path(), server.ctx, "leaf.pem", &note, &error));
  EXPECT_NE(error.find("not a valid OCSP response for 'leaf.pem'"), std::string::npos) << error;
  EXPECT_FALSE(SetUpStapling(cert, "/nonexistent/x.der", server.ctx, "leaf.pem", &note, &error));
  EXPECT_NE(error.find("cannot read it"), std::string::npos) << error;
}

TEST(OcspStapling, AutoNeedsAResponderAndTheIssuerAndSharesTheStaple) {
  testing::Pki pki;
  config::TlsCertificate cert{.cert = "leaf.pem"};
  std::string note, error;
  ServerCtx a(pki), b(pki);
  auto sa = SetUpStapling(cert, "", a.ctx, "leaf.pem", &note, &error);
  auto sb = SetUpStapling(cert, "", b.ctx, "leaf.pem", &note, &error);
  ASSERT_TRUE(sa);
  EXPECT_EQ(sa, sb) << "a rebuild keeps the staple and its schedule";
  EXPECT_EQ(sa->url(), "http://127.0.0.1:8888/ocsp");

  cert.ocsp = config::OcspMode::kOff;
  EXPECT_FALSE(SetUpStapling(cert, "", a.ctx, "leaf.pem", &note, &error));
  EXPECT_EQ(note, "ocsp: off");

  cert.ocsp = config::OcspMode::kAuto;
  SSL_CTX* no_chain = SSL_CTX_new(TLS_server_method());
  SSL_CTX_use_certificate(no_chain, pki.leaf.get());
  EXPECT_FALSE(SetUpStapling(cert, "", no_chain, "leaf.pem", &note, &error));
  EXPECT_EQ(note, "the issuer is not in the certificate's chain");
  SSL_CTX_use_certificate(no_chain, pki.responder.get());  // names no responder
  EXPECT_FALSE(SetUpStapling(cert, "", no_chain, "leaf.pem", &note, &error));
  EXPECT_EQ(note, "the certificate names no OCSP responder");
  SSL_CTX_free(no_chain);
  EXPECT_TRUE(error.empty()) << error;
}

}  // namespace
}  // namespace rampart::tls
