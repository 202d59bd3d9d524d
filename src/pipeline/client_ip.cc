#include "pipeline/client_ip.h"

#include "http/client_address.h"

namespace rampart {

void ResolveClientIp(ExchangeState& st, const config::Listener& listener,
                     const boost::asio::ip::address& peer, bool trusted_peer) {
  st.ex.client_address = peer;
  st.client_ip.clear();
  if (!trusted_peer || listener.client_ip_header == http::ClientIpHeader::kNone) return;
  const boost::asio::ip::address client = http::ResolveClientAddress(
      st.request_headers, listener.client_ip_header, listener.trusted_proxies, peer);
  if (client == peer) return;
  st.ex.client_address = client;
  st.client_ip = client.to_string();
}

}  // namespace rampart
