// A TLS listener's contexts: one SSL_CTX per certificate, all configured alike (a Mozilla
// profile: TLS 1.2 and 1.3 by default, 1.3 only with `modern`, never lower; AEAD suites with
// forward secrecy; ALPN; client certificate
// verification with CA, CRL and depth). The SNI callback moves each handshake to the certificate
// whose names match (exact, then wildcard), else the first. Immutable once built; a certificate
// rotation builds a new one (see TlsSlot).
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "net/tls/ocsp_staple.h"
#include "observe/metrics.h"

namespace rampart::tls {

struct CertificateInfo {
  std::string file;
  std::string subject;
  std::vector<std::string> names;    // SAN DNS names (or the CN when there are none)
  std::int64_t not_after = 0;        // Unix seconds
  std::shared_ptr<OcspStaple> ocsp;  // null: nothing stapled, for the reason in `ocsp_note`
  std::string ocsp_note;
};

// What a verified client certificate says; empty when the client sent none.
struct PeerIdentity {
  bool verified = false;
  std::string subject;  // RFC 2253
  std::vector<std::string> dns;
  std::vector<std::string> uris;
  std::string spiffe_id;  // the first URI SAN of the form spiffe://trust-domain/path
  std::string_view TrustDomain() const noexcept;
};
PeerIdentity ExtractPeerIdentity(SSL* ssl);

class ServerTls {
 public:
  // Reads and checks every file; relative paths are resolved against `base_dir`.
  static std::shared_ptr<const ServerTls> Build(const config::ListenerTls& cfg,
                                                const std::string& base_dir, std::string* error);
  ~ServerTls();

  boost::asio::ssl::context& default_context() const noexcept { return *contexts_.front(); }
  const std::vector<CertificateInfo>& certificates() const noexcept { return infos_; }
  // Every file read, with its modification time (nanoseconds), for change detection.
  const std::vector<std::pair<std::string, std::int64_t>>& files() const noexcept { return files_; }
  bool files_changed() const;

 private:
  ServerTls() = default;
  static int OnServerName(SSL* ssl, int* alert, void* arg);
  SSL_CTX* Select(std::string_view name) const noexcept;

  std::vector<std::unique_ptr<boost::asio::ssl::context>> contexts_;
  std::vector<CertificateInfo> infos_;
  std::vector<std::pair<std::string, std::int64_t>> files_;
};

// The current contexts of one listener, swapped when its files change: new handshakes use the
// new pair, handshakes in progress finish on the old one (they hold it). A broken new pair is
// refused, logged and counted, and the old one keeps serving.
class TlsSlot {
 public:
  TlsSlot(std::string listener, config::ListenerTls cfg, std::string base_dir,
          std::shared_ptr<const ServerTls> current);
  std::shared_ptr<const ServerTls> current() const;
  // Control thread: rebuilds when a file changed. Returns true when it swapped.
  bool Refresh();
  const std::string& listener() const noexcept { return listener_; }
  std::uint64_t reloads_ok() const noexcept { return ok_; }
  // rampart_tls_handshakes_total{listener,result}: set once at snapshot build.
  void set_counters(observe::CounterSeries* ok, observe::CounterSeries* failed) noexcept {
    handshakes_ok_ = ok;
    handshakes_failed_ = failed;
  }
  observe::CounterSeries* handshakes_ok() const noexcept { return handshakes_ok_; }
  observe::CounterSeries* handshakes_failed() const noexcept { return handshakes_failed_; }
  std::uint64_t reloads_failed() const noexcept { return failed_; }

 private:
  std::string listener_;
  config::ListenerTls cfg_;
  std::string base_dir_;
  mutable std::mutex mu_;
  std::shared_ptr<const ServerTls> current_;
  std::uint64_t ok_ = 0, failed_ = 0;  // control thread only
  observe::CounterSeries* handshakes_ok_ = nullptr;
  observe::CounterSeries* handshakes_failed_ = nullptr;
  std::vector<std::pair<std::string, std::int64_t>> last_failed_;  // files of a refused pair
};

}  // namespace rampart::tls
