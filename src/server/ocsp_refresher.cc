#include "server/ocsp_refresher.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <chrono>
#include <set>

#include "core/wall_clock.h"

namespace rampart::server {
namespace {

namespace asio = boost::asio;

// Each staple once, in listener and certificate order.
template <typename F>
void ForEachStaple(const Snapshot& snap, F&& f) {
  std::set<const tls::OcspStaple*> seen;
  for (const auto& [_, slot] : snap.tls) {
    for (const auto& c : slot->current()->certificates()) {
      if (c.ocsp && seen.insert(c.ocsp.get()).second) f(c.ocsp);
    }
  }
}

}  // namespace

void OcspRefresher::Tick(const Snapshot& snap) {
  const std::int64_t now = WallSeconds();
  ForEachStaple(snap, [&](const std::shared_ptr<tls::OcspStaple>& s) {
    if (!s->due(now)) return;
    s->set_fetching(true);
    asio::co_spawn(client_.executor(), Fetch(s), asio::detached);
  });
}

asio::awaitable<void> OcspRefresher::Fetch(std::shared_ptr<tls::OcspStaple> staple) {
  upstream::ClientRequest req;
  req.method = "POST";  // RFC 6960 appendix A.1; GET would need the request in the path
  req.url = staple->url();
  req.headers.emplace_back("content-type", "application/ocsp-request");
  req.headers.emplace_back("accept", "application/ocsp-response");
  req.body = staple->subject().Request();
  req.timeout = std::chrono::seconds(5);
  req.max_response_bytes = tls::kOcspMaxResponseBytes;
  const upstream::ClientResponse r = co_await client_.Fetch(std::move(req));
  const std::int64_t now = WallSeconds();
  staple->set_fetching(false);
  std::string error;
  tls::OcspResponse parsed;
  if (!r.ok()) {
    error = r.error_text.empty() ? "fetch failed" : r.error_text;
  } else if (r.status != 200) {
    error = fmt::format("responder answered HTTP {}", r.status);
  } else if (!staple->subject().Check(r.body, now, parsed, &error)) {
    error = "bad response: " + error;
  } else if (parsed.stale(now)) {
    error = "the response is already past its nextUpdate";
  } else if (const auto held = staple->held();
             held && parsed.this_update < held->response.this_update) {
    // The fetch is plain HTTP: an older answer (a "good" from before a revocation) replayed by
    // someone on the path must not replace a newer one.
    error = "the response is older than the one held";
  } else {
    const auto before = staple->held();
    if (!before || before->response.status != parsed.status) {
      spdlog::info("OCSP for '{}': {}", staple->label(), tls::OcspCertStatusToken(parsed.status));
    }
    staple->Accept(r.body, parsed, now, Jitter());
    co_return;
  }
  staple->Fail(std::move(error), now, Jitter());
}

void OcspRefresher::RenderMetrics(const Snapshot& snap, std::string& out) {
  std::string fetches, expiry;
  const std::int64_t now = WallSeconds();
  std::set<std::string> rendered;  // two listeners may staple one file: one series
  ForEachStaple(snap, [&](const std::shared_ptr<tls::OcspStaple>& s) {
    const std::string cert = observe::EscapeLabelValue(s->label());
    const bool fetched = s->source() == tls::OcspSource::kFetched;
    if (!rendered.insert(cert + (fetched ? "\nfetched" : "\nfile")).second) return;
    if (fetched) {
      fetches += fmt::format("rampart_ocsp_fetches_total{{certificate=\"{}\",result=\"ok\"}} {}\n",
                             cert, s->fetches_ok());
      fetches +=
          fmt::format("rampart_ocsp_fetches_total{{certificate=\"{}\",result=\"failed\"}} {}\n",
                      cert, s->fetches_failed());
    }
    if (const auto h = s->held()) {
      expiry +=
          fmt::format("rampart_ocsp_staple_expiry_seconds{{certificate=\"{}\",source=\"{}\"}} {}\n",
                      cert, fetched ? "fetched" : "file", h->response.next_update - now);
    }
  });
  if (!fetches.empty()) {
    out += "# HELP rampart_ocsp_fetches_total OCSP responses fetched for stapling, by result.\n";
    out += "# TYPE rampart_ocsp_fetches_total counter\n";
    out += fetches;
  }
  if (!expiry.empty()) {
    out +=
        "# HELP rampart_ocsp_staple_expiry_seconds Seconds until the held staple's nextUpdate.\n";
    out += "# TYPE rampart_ocsp_staple_expiry_seconds gauge\n";
    out += expiry;
  }
}

}  // namespace rampart::server
