// Fetches OCSP staples (net/tls/ocsp_staple.h) for the listeners' certificates from the
// responders they name, with the outbound HTTP client, on the control thread; and their metrics.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <random>
#include <string>

#include "net/tls/ocsp_staple.h"
#include "server/snapshot.h"
#include "upstream/http_client.h"

namespace rampart::server {

class OcspRefresher {
 public:
  explicit OcspRefresher(upstream::HttpClient& client) : client_(client) {}
  // Control thread, about once a second: starts a fetch for each fetched staple of `snap` that
  // is due (a staple shared by several listeners is fetched once).
  void Tick(const Snapshot& snap);
  // rampart_ocsp_fetches_total{certificate,result} and
  // rampart_ocsp_staple_expiry_seconds{certificate,source}; control thread (a metrics
  // collector).
  static void RenderMetrics(const Snapshot& snap, std::string& out);

 private:
  boost::asio::awaitable<void> Fetch(std::shared_ptr<tls::OcspStaple> staple);
  double Jitter() { return std::uniform_real_distribution<double>(0, 1)(random_); }

  upstream::HttpClient& client_;  // outlives this
  std::mt19937_64 random_{std::random_device{}()};
};

}  // namespace rampart::server
