// The cache gate's settings (docs/configuration.md, "gates: cache").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "config/fields.h"

namespace rampart::cache {

struct CacheConfig {
  std::string zone = "default";            // routes naming the same zone share one store
  std::uint64_t max_bytes = 256ull << 20;  // the zone's bound (the first route to name it sets it)
  std::uint64_t max_entry = 1ull << 20;    // larger answers are passed through, not stored
  // Query parameters in the key: all of them (sorted by name), none, or the listed ones.
  enum class Query : std::uint8_t { kAll, kNone, kListed } query = Query::kAll;
  std::vector<std::string> query_params;
  std::vector<std::string> key_headers;  // request header values in the key (lower-case names)
  // Requests with Authorization are passed through unless this is on; then their answers are
  // stored per principal (the identity an authentication gate set) when the response allows a
  // shared cache to (public, s-maxage, must-revalidate: RFC 9111 section 3.5).
  bool cache_authorized = false;
  // Requests with cookies are passed through, and answers with Set-Cookie not stored, unless on.
  bool cache_cookies = false;
  std::string tag_header;  // a response field of space-separated tags, for purges by tag
  // Entries' lifetimes are shortened by a random share up to this (a fraction: 0.1 is 10%), so
  // entries stored together do not expire together; never lengthened past what the origin allows.
  double ttl_jitter = 0.10;
  // Negative caching: answers with these statuses and no freshness of their own are kept this
  // long, so a flood of requests for what does not exist does not reach the origin; 0: off.
  std::chrono::microseconds negative_ttl{0};
  std::vector<int> negative_statuses = {404, 410};
  // A regular expression the whole path of a GET or HEAD must match; others are answered 404 by
  // rampart and never reach the origin (random keys that cannot exist: cache penetration).
  std::string key_filter;
  bool status_header = true;  // X-Rampart-Cache: HIT, MISS, REVALIDATED, STALE, BYPASS

  // Request coalescing: concurrent misses on one key send one request to the origin; the others
  // wait up to this long for its answer, then go themselves. 0: off.
  std::chrono::microseconds coalesce_timeout = std::chrono::seconds(5);
  // A key whose answer could not be stored (no-store, private, no freshness, too large) is not
  // coalesced for this long: its concurrent misses go to the origin at once, not one after the
  // other. 0: always coalesce.
  std::chrono::microseconds pass_ttl = std::chrono::seconds(10);
  // Windows used when the origin's Cache-Control names none (its own values win): serve a stale
  // entry at once while one background request refreshes it; serve it instead of an origin
  // failure (5xx, connect failure, timeout, open breaker).
  std::chrono::microseconds stale_while_revalidate{0};
  std::chrono::microseconds stale_if_error{0};
  // Probabilistic early refresh (XFetch, Vattani, Chierichetti and Lowenstein, "Optimal
  // Probabilistic Cache Stampede Prevention", VLDB 2015): a fresh entry is refreshed in the
  // background when now - delta * beta * ln(rand) >= expiry (delta: how long its fetch took).
  // 0: off; larger refreshes earlier.
  double early_refresh = 1.0;
  // The shared tier (shared_tier.h) on the top-level `state.redis`: entries larger than
  // shared_max_entry stay local; a leader's lock on a key lasts shared_lease.
  bool shared = false;
  std::uint64_t shared_max_entry = 256ull << 10;
  std::chrono::microseconds shared_lease = std::chrono::seconds(10);
};

const config::Fields<CacheConfig>& CacheFields();

}  // namespace rampart::cache
