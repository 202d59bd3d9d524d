// The application protocol ALPN settled on for a finished handshake, client side or server side.
#pragma once

#include <openssl/ssl.h>

#include <string_view>

namespace rampart::tls {

// Empty when the peers agreed on none.
inline std::string_view SelectedAlpn(const SSL* ssl) noexcept {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return proto ? std::string_view(reinterpret_cast<const char*>(proto), len) : std::string_view();
}

}  // namespace rampart::tls
