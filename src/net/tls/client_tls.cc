#include "net/tls/client_tls.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

namespace rampart::tls {
namespace {

std::string Error() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return e ? buf : "unknown error";
}

std::string Resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/' || base.empty()) return path;
  return base + "/" + path;
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> BuildClientContext(const config::UpstreamTls& cfg,
                                                              const std::string& base_dir,
                                                              std::string* error) {
  auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(c, cfg.min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (cfg.ca.empty()) {
    if (SSL_CTX_set_default_verify_paths(c) != 1) {
      *error = "cannot load the system's CA certificates: " + Error();
      return nullptr;
    }
  } else if (SSL_CTX_load_verify_locations(c, Resolve(base_dir, cfg.ca).c_str(), nullptr) != 1) {
    *error = fmt::format("ca '{}': {}", Resolve(base_dir, cfg.ca), Error());
    return nullptr;
  }
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER, nullptr);
  if (!cfg.cert.empty()) {
    const std::string cert = Resolve(base_dir, cfg.cert), key = Resolve(base_dir, cfg.key);
    if (SSL_CTX_use_certificate_chain_file(c, cert.c_str()) != 1) {
      *error = fmt::format("cert '{}': {}", cert, Error());
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(c, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c) != 1) {
      *error = fmt::format("key '{}': {}", key, Error());
      return nullptr;
    }
  }
  static constexpr unsigned char kAlpn[] = "\x08http/1.1";
  SSL_CTX_set_alpn_protos(c, kAlpn, sizeof(kAlpn) - 1);
  return ctx;
}

bool PrepareClientConnection(SSL* ssl, const std::string& server_name) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(server_name, ec);
  if (!ec) {  // an address: no SNI; the certificate must carry it as an IP SAN
    return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
  }
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
         SSL_set1_host(ssl, server_name.c_str()) == 1;
}

}  // namespace rampart::tls
