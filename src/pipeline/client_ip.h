// The client_ip stage: the first thing an exchange does once its head is parsed, before any gate
// runs. The connection's peer (or the PROXY protocol's source) is the client unless it is one of
// the listener's trusted proxies; then the forwarding chain names the client
// (http/client_address.h). Every gate, the access log, metrics keyed by client and hashing on
// the client address read the result from `st.ex.client_address` / `st.client_ip`.
#pragma once

#include <boost/asio/ip/address.hpp>

#include "config/config.h"
#include "pipeline/exchange_state.h"

namespace rampart {

void ResolveClientIp(ExchangeState& st, const config::Listener& listener,
                     const boost::asio::ip::address& peer, bool trusted_peer);

}  // namespace rampart
