// rampart's outbound HTTP/1.1 client, for what gates and policies fetch themselves: JWKS, token
// introspection, health checks, OCSP. It runs on one loop (the control thread's, off the
// request path) over the proxy's own upstream code: the same connection pool, connect and TLS
// (always verified: the system's CAs, or a bundle named per request), the same strict parser,
// and the same attempt stream (Http1Stream) as a proxied request. Connections are kept per
// origin for reuse.
//
// From another thread (a worker's gate): co_spawn Fetch onto executor() and await it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "http/exchange_error.h"
#include "net/loop_context.h"
#include "observe/metrics.h"
#include "upstream/connection_pool.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http://host[:port]/path?query or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{5000};           // connect, and each wait after it
  std::size_t max_response_bytes = 8 * 1024 * 1024;  // a larger body fails the fetch
  std::string ca_file;  // https: verify against this bundle instead of the system's
};

struct ClientResponse {
  int status = 0;  // 0 when the fetch failed
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  http::ExchangeError error;
  std::string error_text;  // what went wrong, for logs (no secrets)
  bool ok() const noexcept { return status != 0 && !error; }
};

// "https://a.example:8443/p?q" into its parts; false when it is not an http(s) URL.
struct ParsedUrl {
  bool tls = false;
  std::string host;  // without brackets for IPv6 literals
  std::uint16_t port = 0;
  std::string target;     // path and query, "/" at least
  std::string authority;  // host[:port] as for Host
};
bool ParseUrl(std::string_view url, ParsedUrl& out);

class HttpClient {
 public:
  HttpClient(net::LoopContext& loop, observe::Metrics& metrics);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  boost::asio::any_io_executor executor() noexcept { return loop_.io().get_executor(); }
  // Runs on the client's loop.
  boost::asio::awaitable<ClientResponse> Fetch(ClientRequest request);
  // A request (`target`, Host `authority`; request.url unused) to endpoint `endpoint` of `up`,
  // over that upstream's own address and TLS settings (its CA, client certificate and server
  // name): a health check. With `connect_only`, only the connection and TLS handshake are made
  // (status 200 when they succeed). Runs on the client's loop; `up.stats` takes its counts.
  boost::asio::awaitable<ClientResponse> FetchFrom(const UpstreamSpec& up, std::size_t endpoint,
                                                   ClientRequest request, std::string target,
                                                   std::string authority, bool connect_only);

 private:
  struct Origin;
  struct Active;
  boost::asio::awaitable<std::shared_ptr<Origin>> OriginFor(const ParsedUrl& url,
                                                            const ClientRequest& request,
                                                            std::string& error);
  boost::asio::awaitable<void> Tick();

  net::LoopContext& loop_;
  observe::Metrics& metrics_;
  ConnectionPool pool_;
  std::map<std::string, std::shared_ptr<Origin>> origins_;  // by scheme://host:port|ca
  Active* active_ = nullptr;  // fetches in flight: the tick fires their deadlines
  boost::asio::steady_timer tick_;
  bool ticking_ = false;
};

}  // namespace rampart::upstream
