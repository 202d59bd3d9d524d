#include "gates/blackhole/admin_endpoint.h"

#include <fmt/format.h>

#include "core/cidr.h"
#include "core/json_strict.h"
#include "core/strings.h"
#include "core/units.h"

namespace rampart::gates {

namespace asio = boost::asio;
using admin::AdminError;
using admin::AdminRequest;
using admin::AdminResponse;

namespace {

AdminResponse Json(int status, std::string body) {
  return {status, "application/json", std::move(body)};
}

std::optional<boost::asio::ip::address> ParseAddress(std::string_view s) {
  auto a = ParseIpLiteral(s, s.find(':') != std::string_view::npos);
  if (!a) return std::nullopt;
  return Unmapped(*a);
}

std::string_view QueryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view kv = query.substr(0, amp);
    const auto eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key) return kv.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

AdminResponse List(const Blackhole& b) {
  std::string out = "{\"entries\":[";
  bool first = true;
  for (const auto& e : b.List(std::chrono::steady_clock::now())) {
    out += first ? "{\"address\":\"" : ",{\"address\":\"";
    first = false;
    AppendJsonEscaped(out, e.address);
    fmt::format_to(std::back_inserter(out),
                   "\",\"seconds_left\":{:.3f},\"strikes\":{},\"manual\":{}}}",
                   e.remaining.count() / 1e6, e.strikes, e.manual ? "true" : "false");
  }
  out += "]}\n";
  return Json(200, std::move(out));
}

AdminResponse Add(const AdminRequest& req, Blackhole& b) {
  thread_local StrictJson parser;
  simdjson::dom::element root;
  std::string_view error;
  if (!parser.Parse(req.body, root, error) || !root.is_object())
    return Json(400, AdminError("bad_request", "a JSON object {\"address\": ..., \"ttl\": ...}"));
  std::string_view address, ttl_text;
  if (root["address"].get_string().get(address))
    return Json(400, AdminError("bad_request", "\"address\": an IPv4 or IPv6 address"));
  const auto a = ParseAddress(address);
  if (!a) return Json(400, AdminError("bad_request", "\"address\": an IPv4 or IPv6 address"));
  std::chrono::microseconds ttl = std::chrono::hours(1);
  if (!root["ttl"].get_string().get(ttl_text)) {
    const auto d = ParseDuration(ttl_text);
    if (!d || d->count() <= 0 || *d > std::chrono::hours(24 * 30))
      return Json(400, AdminError("bad_request", "\"ttl\": a duration up to 30d, e.g. \"10m\""));
    ttl = *d;
  }
  b.Add(*a, ttl, std::chrono::steady_clock::now());
  return Json(200, fmt::format("{{\"address\":\"{}\",\"seconds_left\":{:.0f}}}\n", a->to_string(),
                               ttl.count() / 1e6));
}

}  // namespace

void AddBlackholeEndpoint(admin::AdminActions& admin, Blackhole* blackhole) {
  admin.Add("/admin/blackhole", "blackhole",
            [blackhole](const AdminRequest& req) -> asio::awaitable<AdminResponse> {
              if (req.method == "GET") co_return List(*blackhole);
              if (req.method == "POST") co_return Add(req, *blackhole);
              if (req.method == "DELETE") {
                const auto a = ParseAddress(QueryValue(req.query, "address"));
                if (!a) co_return Json(400, AdminError("bad_request", "?address=<an IP address>"));
                if (!blackhole->Remove(*a))
                  co_return Json(404, AdminError("not_found", "that address is not held"));
                co_return Json(200, "{\"removed\":true}\n");
              }
              co_return Json(405, AdminError("method_not_allowed", "use GET, POST or DELETE"));
            });
}

}  // namespace rampart::gates
