// TLS to an upstream: a client context that always verifies the upstream's certificate (the CA
// bundle given, or the system's), optionally presents a client certificate, and per connection
// sets SNI and the name (or IP address) the certificate must carry.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "config/config.h"

namespace rampart::tls {

std::shared_ptr<boost::asio::ssl::context> BuildClientContext(const config::UpstreamTls& cfg,
                                                              const std::string& base_dir,
                                                              std::string* error);

// Before the handshake: SNI (names only) and the identity to verify.
bool PrepareClientConnection(SSL* ssl, const std::string& server_name);

}  // namespace rampart::tls
