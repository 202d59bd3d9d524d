#include "gates/cache/admin_endpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "core/json_strict.h"
#include "http/request_target.h"

namespace rampart::cache {

namespace asio = boost::asio;
using admin::AdminError;
using admin::AdminRequest;
using admin::AdminResponse;

namespace {

constexpr std::string_view kUsage =
    "a JSON object with one of \"url\" (\"https://host/path?query\"), \"prefix\" (of such URLs) "
    "or \"tag\", and \"zone\" (default \"default\")";

// Purges `store`; sets `purged` (entries dropped) on success.
AdminResponse Purge(const AdminRequest& req, const std::string& zone, CacheStore& store,
                    std::size_t& purged) {
  thread_local StrictJson parser;
  simdjson::dom::element root;
  std::string_view error;
  if (!parser.Parse(req.body, root, error) || !root.is_object()) {
    return {400, "application/json", AdminError("bad_request", kUsage)};
  }
  std::string_view want_zone = "default";
  if (root["zone"].error() != simdjson::NO_SUCH_FIELD && root["zone"].get_string().get(want_zone)) {
    return {400, "application/json", AdminError("bad_request", kUsage)};
  }
  if (want_zone != zone) return {404, "application/json", AdminError("not_found", "no such zone")};
  std::string_view url, prefix, tag;
  const bool has_url = !root["url"].get_string().get(url);
  const bool has_prefix = !root["prefix"].get_string().get(prefix);
  const bool has_tag = !root["tag"].get_string().get(tag);
  if (has_url + has_prefix + has_tag != 1) {
    return {400, "application/json", AdminError("bad_request", kUsage)};
  }
  std::size_t n = 0;
  if (has_url) {
    // Keys are the URL, '\n', then the route's chosen header values: every variant of the URL.
    // Keys hold the scheme and authority lower case, and the URL's query as the route keyed it.
    std::string k(url);
    const auto authority_end =
        k.find('/', k.find("://") == std::string::npos ? 0 : k.find("://") + 3);
    for (std::size_t i = 0; i < std::min(authority_end, k.size()); ++i) {
      k[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(k[i])));
    }
    // The path as requests are keyed: normalized (`/products/%31%32` is /products/12).
    if (authority_end < k.size()) {
      const std::size_t query = std::min(k.find('?', authority_end), k.size());
      std::string normal;
      if (http::NormalizePath(std::string_view(k).substr(authority_end, query - authority_end),
                              normal)) {
        k.replace(authority_end, query - authority_end, normal);
      }
    }
    if (k.find('?') == std::string::npos) k += '?';
    n = store.ErasePrefix(k + "\n");
  } else if (has_prefix) {
    if (prefix.empty()) return {400, "application/json", AdminError("bad_request", kUsage)};
    n = store.ErasePrefix(prefix);
  } else {
    n = store.EraseTag(tag);
  }
  purged = n;
  return {200, "application/json", fmt::format("{{\"purged\":{}}}\n", n)};
}

}  // namespace

void AddPurgeEndpoint(admin::AdminActions& admin, const std::string& zone,
                      std::shared_ptr<CacheStore> store, std::shared_ptr<SharedTier> shared) {
  // Broadcast: every store of the zone (routes may size it differently) is purged.
  admin.Add(
      "/admin/cache/purge",
      "cache:" + zone + ":" + std::to_string(reinterpret_cast<std::uintptr_t>(store.get())),
      [zone, store, shared](const AdminRequest& req) -> asio::awaitable<AdminResponse> {
        if (req.method != "POST") {
          co_return AdminResponse{405, "application/json",
                                  AdminError("method_not_allowed", "use POST")};
        }
        std::size_t purged = 0;
        AdminResponse r = Purge(req, zone, *store, purged);
        if (r.status != 200 || !shared) co_return r;
        // Entries in the shared tier are keyed by hashes a prefix or tag cannot name: the
        // zone's generation moves on, and everything written before reads as absent.
        const bool flushed = co_await shared->Flush(0);
        if (!flushed) {
          co_return AdminResponse{
              503, "application/json",
              AdminError(
                  "store_unavailable",
                  fmt::format("purged {} local entries; the shared tier did not answer", purged))};
        }
        co_return AdminResponse{200, "application/json",
                                fmt::format("{{\"purged\":{},\"shared_flushed\":true}}\n", purged)};
      },
      /*broadcast=*/true);
}

}  // namespace rampart::cache
