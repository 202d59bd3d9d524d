#include "net/tls/server_tls.h"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <ctime>

#include "core/strings.h"
#include "net/tls/ticket_keys.h"

namespace rampart::tls {
namespace {

// Mozilla "intermediate" TLS 1.2 suites (forward secret AEADs only); TLS 1.3 uses OpenSSL's
// defaults (all AEAD).
// Mozilla's "intermediate" TLS 1.2 suites (server-side TLS guidance, v5.7): forward secrecy and
// AEAD only. The DHE suites (ffdhe2048 for a 2048-bit RSA key) serve clients that have no ECDHE
// with AES-GCM for RSA keys; ECDSA certificates never use them.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";
constexpr const char* kGroups = "X25519:P-256:P-384";

// The DHE suites' group: RFC 7919 ffdhe2048, as Mozilla's guidance names it (OpenSSL's automatic
// choice would take an RFC 3526 MODP prime).
bool UseFfdhe2048(SSL_CTX* c) {
  EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr);
  if (pctx == nullptr) return false;
  char group[] = "ffdhe2048";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("group", group, 0),
                               OSSL_PARAM_construct_end()};
  EVP_PKEY* dh = nullptr;
  const bool ok = EVP_PKEY_paramgen_init(pctx) == 1 && EVP_PKEY_CTX_set_params(pctx, params) == 1 &&
                  EVP_PKEY_paramgen(pctx, &dh) == 1;
  EVP_PKEY_CTX_free(pctx);
  if (!ok) return false;
  if (SSL_CTX_set0_tmp_dh_pkey(c, dh) != 1) {  // takes `dh` only when it succeeds
    EVP_PKEY_free(dh);
    return false;
  }
  return true;
}

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string Resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/' || base.empty()) return path;
  return base + "/" + path;
}

std::int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string NameToString(X509_NAME* name) {
  BIO* bio = BIO_new(BIO_s_mem());
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(len));
  BIO_free(bio);
  return out;
}

void Sans(X509* cert, std::vector<std::string>* dns, std::vector<std::string>* uris) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    if (n->type == GEN_DNS && dns) {
      const ASN1_IA5STRING* s = n->d.dNSName;
      dns->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                        static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_URI && uris) {
      const ASN1_IA5STRING* s = n->d.uniformResourceIdentifier;
      uris->emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)));
    }
  }
  GENERAL_NAMES_free(names);
}

// The server's preference order (RFC 7301): h2 first when the listener serves it. A client that
// offers none of ours continues without ALPN and is served HTTP/1.1.
constexpr std::string_view kAlpnH2 = "\x02h2\x08http/1.1";
constexpr std::string_view kAlpnHttp11 = "\x08http/1.1";

int SelectAlpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
               unsigned int inlen, void* arg) {
  const auto* ours = static_cast<const std::string_view*>(arg);
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(ours->data()),
                            static_cast<unsigned int>(ours->size()), in,
                            inlen) == OPENSSL_NPN_NEGOTIATED) {
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

bool NameMatches(std::string_view pattern, std::string_view host) {
  if (pattern.starts_with("*.")) {
    const std::size_t dot = host.find('.');
    return dot != std::string_view::npos && dot > 0 && IEquals(host.substr(dot), pattern.substr(1));
  }
  return IEquals(pattern, host);
}

}  // namespace

std::string_view PeerIdentity::TrustDomain() const noexcept {
  std::string_view id = spiffe_id;
  if (!id.starts_with("spiffe://")) return {};
  id.remove_prefix(9);
  return id.substr(0, id.find('/'));
}

PeerIdentity ExtractPeerIdentity(SSL* ssl) {
  PeerIdentity out;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return out;
  out.verified = SSL_get_verify_result(ssl) == X509_V_OK;
  out.subject = NameToString(X509_get_subject_name(cert));
  Sans(cert, &out.dns, &out.uris);
  for (const auto& u : out.uris) {
    if (u.starts_with("spiffe://") && u.size() > 9) {
      out.spiffe_id = u;
      break;
    }
  }
  X509_free(cert);
  return out;
}

ServerTls::~ServerTls() = default;

std::shared_ptr<const ServerTls> ServerTls::Build(const config::ListenerTls& cfg,
                                                  const std::string& base_dir, std::string* error) {
  std::shared_ptr<ServerTls> t(new ServerTls());
  ERR_clear_error();
  auto fail = [&](std::string msg) {
    *error = std::move(msg);
    return nullptr;
  };
  auto remember = [&](const std::string& path) { t->files_.emplace_back(path, MtimeNs(path)); };
  for (const auto& pair : cfg.certificates) {
    const std::string cert = Resolve(base_dir, pair.cert), key = Resolve(base_dir, pair.key);
    auto ctx = std::make_unique<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    SSL_CTX* c = ctx->native_handle();
    SSL_CTX_set_min_proto_version(c, cfg.min_version == 12 ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE |
                               (cfg.session_tickets ? 0 : SSL_OP_NO_TICKET));
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);  // idle connections hold no TLS buffers
    if (!cfg.session_tickets) {
      // No resumption at all: TLS 1.3 would otherwise resume through stateful tickets.
      SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
      SSL_CTX_set_num_tickets(c, 0);
    } else {
      // Tickets sealed with the process's rotating keys: valid across certificates and reloads.
      // The first key exists before the first handshake; the control thread rotates it.
      TicketKeys::Instance().Rotate(std::chrono::duration_cast<std::chrono::seconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count(),
                                    kTicketKeyRotationSeconds, kTicketKeyLifetimeSeconds);
      TicketKeys::Install(c);
      SSL_CTX_set_timeout(c, kTicketKeyLifetimeSeconds - kTicketKeyRotationSeconds);
    }
    // An operator's own list still never offers unauthenticated or unencrypted suites.
    const std::string ciphers =
        cfg.ciphers.empty() ? kTls12Ciphers : cfg.ciphers + ":!aNULL:!eNULL";
    if (SSL_CTX_set_cipher_list(c, ciphers.c_str()) != 1)
      return fail(fmt::format("ciphers '{}': no usable suite ({})", cfg.ciphers, OpenSslError()));
    if (SSL_CTX_set1_groups_list(c, kGroups) != 1)
      return fail("cannot set groups: " + OpenSslError());
    if (!UseFfdhe2048(c)) return fail("cannot set the DHE group: " + OpenSslError());
    if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1)
      return fail(fmt::format("certificate '{}': {}", cert, OpenSslError()));
    if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1)
      return fail(fmt::format("key '{}': {}", key, OpenSslError()));
    if (SSL_CTX_check_private_key(c) != 1)
      return fail(fmt::format("key '{}' does not match certificate '{}'", key, cert));
    static constexpr unsigned char kSidContext[] = "rampart";
    SSL_CTX_set_session_id_context(c, kSidContext, sizeof(kSidContext) - 1);
    SSL_CTX_set_alpn_select_cb(
        c, SelectAlpn, const_cast<std::string_view*>(cfg.alpn_h2 ? &kAlpnH2 : &kAlpnHttp11));
    SSL_CTX_set_tlsext_servername_callback(c, OnServerName);
    SSL_CTX_set_tlsext_servername_arg(c, t.get());
    if (cfg.client_cert != config::ClientCertMode::kOff) {
      const std::string ca = Resolve(base_dir, cfg.client_ca);
      if (SSL_CTX_load_verify_locations(c, ca.c_str(), nullptr) != 1)
        return fail(fmt::format("client_ca '{}': {}", ca, OpenSslError()));
      if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str()))
        SSL_CTX_set_client_CA_list(c, names);
      int mode = SSL_VERIFY_PEER;
      if (cfg.client_cert == config::ClientCertMode::kRequired)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      SSL_CTX_set_verify(c, mode, nullptr);
      SSL_CTX_set_verify_depth(c, cfg.verify_depth);
      if (!cfg.crl.empty()) {
        const std::string crl = Resolve(base_dir, cfg.crl);
        X509_STORE* store = SSL_CTX_get_cert_store(c);
        if (X509_STORE_load_file(store, crl.c_str()) != 1)
          return fail(fmt::format("crl '{}': {}", crl, OpenSslError()));
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
        if (t->contexts_.empty()) remember(crl);
      }
      if (t->contexts_.empty()) remember(ca);
    }
    CertificateInfo info;
    info.file = cert;
    X509* leaf = SSL_CTX_get0_certificate(c);
    info.subject = NameToString(X509_get_subject_name(leaf));
    Sans(leaf, &info.names, nullptr);
    if (info.names.empty()) {
      char cn[256] = {0};
      if (X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn) > 0)
        info.names.emplace_back(cn);
    }
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(leaf), &tm) == 1) info.not_after = timegm(&tm);
    const std::string ocsp_file = Resolve(base_dir, pair.ocsp_file);
    std::string ocsp_error;
    info.ocsp = SetUpStapling(pair, ocsp_file, c, cert, &info.ocsp_note, &ocsp_error);
    if (!ocsp_error.empty()) return fail(ocsp_error);
    remember(cert);
    remember(key);
    if (pair.ocsp == config::OcspMode::kFile) remember(ocsp_file);  // re-read when it changes
    t->infos_.push_back(std::move(info));
    t->contexts_.push_back(std::move(ctx));
  }
  if (t->contexts_.empty()) return fail("no certificate");
  return t;
}

SSL_CTX* ServerTls::Select(std::string_view name) const noexcept {
  for (int pass = 0; pass < 2; ++pass) {  // exact names first, then wildcards
    for (std::size_t i = 0; i < infos_.size(); ++i) {
      for (const auto& n : infos_[i].names) {
        if (n.starts_with("*.") == (pass == 1) && NameMatches(n, name))
          return contexts_[i]->native_handle();
      }
    }
  }
  return nullptr;
}

int ServerTls::OnServerName(SSL* ssl, int*, void* arg) {
  const auto* self = static_cast<const ServerTls*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_CTX* ctx = self->Select(name); ctx != nullptr && ctx != SSL_get_SSL_CTX(ssl)) {
    SSL_set_SSL_CTX(ssl, ctx);
  }
  return SSL_TLSEXT_ERR_OK;
}

bool ServerTls::files_changed() const {
  for (const auto& [path, mtime] : files_) {
    if (MtimeNs(path) != mtime) return true;
  }
  return false;
}

TlsSlot::TlsSlot(std::string listener, config::ListenerTls cfg, std::string base_dir,
                 std::shared_ptr<const ServerTls> current)
    : listener_(std::move(listener)),
      cfg_(std::move(cfg)),
      base_dir_(std::move(base_dir)),
      current_(std::move(current)) {}

std::shared_ptr<const ServerTls> TlsSlot::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

bool TlsSlot::Refresh() {
  auto cur = current();
  if (!cur->files_changed()) return false;
  std::vector<std::pair<std::string, std::int64_t>> times;
  for (const auto& [path, _] : cur->files()) times.emplace_back(path, MtimeNs(path));
  if (times == last_failed_) return false;  // the same broken files: said once already
  std::string error;
  auto next = ServerTls::Build(cfg_, base_dir_, &error);
  if (!next) {
    // Files are often replaced one at a time (certificate, then key): a mismatch may be a
    // rotation in progress, and the next check picks up the finished pair.
    ++failed_;
    last_failed_ = std::move(times);
    spdlog::error("listener '{}': new TLS certificate refused, the old one keeps serving: {}",
                  listener_, error);
    return false;
  }
  last_failed_.clear();
  {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }
  ++ok_;
  spdlog::info("listener '{}': TLS certificates reloaded", listener_);
  return true;
}

}  // namespace rampart::tls
