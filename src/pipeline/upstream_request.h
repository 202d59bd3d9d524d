// The request head rampart sends upstream for one exchange, whichever protocol the client spoke:
// the target after the route's prefix rewrite, Host, forwarding headers and header rules; and the
// builder input of the response head it sends back.
#pragma once

#include <string>
#include <string_view>

#include "http/proxy_headers.h"
#include "pipeline/exchange.h"
#include "pipeline/router.h"
#include "pipeline/site.h"

namespace rampart {

// `target` receives the path and query (the result points into it); `client_ip` is the peer's
// address as text; `received_protocol` goes into Via ("1.1", "2").
http::UpstreamRequest MakeUpstreamRequest(const CompiledRoute& route, const Exchange& ex,
                                          const Site& site, std::string_view client_ip,
                                          std::string_view received_protocol, std::string& target);

// The response head's builder input for `status` and the origin's `headers`, with the route's
// response rules, the gates' headers and Via; the caller sets framing and connection fields.
http::DownstreamResponse MakeDownstreamResponse(const CompiledRoute& route, const Exchange& ex,
                                                const Site& site, int status,
                                                const http::HeaderList& headers);
// An interim (1xx) head as forwarded: the origin's fields without hop-by-hop and framing ones,
// and Via; no route rules or gate headers (the final response carries those).
http::DownstreamResponse MakeInterimResponse(const Site& site, int status,
                                             const http::HeaderList& headers,
                                             std::string_view received_protocol);

}  // namespace rampart
