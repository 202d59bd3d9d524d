// Cache-Control (RFC 9111 section 5.2), HTTP dates (RFC 9110 section 5.6.7), and the freshness
// arithmetic of a shared cache (RFC 9111 sections 3, 4.2): pure functions, no I/O, fuzzed.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/message.h"

namespace rampart::cache {

using WallTime = std::chrono::system_clock::time_point;
using Seconds = std::chrono::seconds;

// The directives of every Cache-Control field of a message, combined. Unknown directives are
// ignored (section 5.2.3). A directive whose argument is malformed (max-age=abc, a negative or
// duplicated max-age with different values) makes the field `invalid`, and callers then treat
// the response as not cacheable and the request as `no-cache` (the conservative reading of
// section 4.2.1). Delta-seconds larger than 2^31 count as 2^31 (section 1.2.2).
struct CacheControl {
  // Request and response.
  std::optional<std::int64_t> max_age;
  bool no_cache = false;  // a response's no-cache="field" lists count as plain no-cache
  bool no_store = false;
  bool no_transform = false;
  // Request only.
  std::optional<std::int64_t> max_stale;  // present without a value: INT64_MAX
  std::optional<std::int64_t> min_fresh;
  bool only_if_cached = false;
  // Response only.
  std::optional<std::int64_t> s_maxage;
  bool must_revalidate = false;
  bool proxy_revalidate = false;
  bool must_understand = false;
  bool is_private = false;  // private, with or without a field list: not stored by a shared cache
  bool is_public = false;
  std::optional<std::int64_t> stale_while_revalidate;  // RFC 5861
  std::optional<std::int64_t> stale_if_error;          // RFC 5861
  bool invalid = false;
};

// Every Cache-Control field of `headers` (names compared case-insensitively), in order.
CacheControl ParseCacheControl(const http::HeaderList& headers);
// One field value (a comma-separated list of directives); `into` accumulates.
void ParseCacheControlValue(std::string_view value, CacheControl& into);

// An HTTP-date: IMF-fixdate, or the obsolete RFC 850 and asctime forms (recipients must accept
// all three). nullopt when malformed. Case-sensitive, no surrounding whitespace, the day-name is
// not checked against the date. Years beyond what WallTime holds clamp to its range.
std::optional<WallTime> ParseHttpDate(std::string_view s);
// The same, with the clock that places an RFC 850 two-digit year (RFC 9110 section 5.6.7: a year
// more than 50 years in the future is the most recent past year with the same last two digits).
// The one-argument form reads the system clock for that.
std::optional<WallTime> ParseHttpDate(std::string_view s, WallTime now);
// IMF-fixdate, e.g. "Sun, 06 Nov 1994 08:49:37 GMT".
std::string FormatHttpDate(WallTime t);

// Why a response may not be stored by a shared cache (section 3), or kStorable.
enum class Storability : std::uint8_t {
  kStorable,
  kMethod,         // not GET (a stored GET answers HEAD too; HEAD answers are not stored)
  kStatus,         // not a final status this cache understands and may store
  kNoStore,        // no-store in the request or the response
  kPrivate,        // private
  kAuthorization,  // the request had Authorization and the response allows no shared caching
  kVaryStar,       // Vary: *
  kNoLifetime,     // no explicit freshness (heuristics are off) and no validator to revalidate
  kInvalid,        // a malformed Cache-Control (the response's, or the request's)
};

struct StoreQuestion {
  std::string_view method;  // the request's
  int status = 0;
  const CacheControl* request = nullptr;
  const CacheControl* response = nullptr;
  const http::HeaderList* response_headers = nullptr;
  bool request_has_authorization = false;
};

// Section 3 (and 3.5 for Authorization: allowed only with public, s-maxage or must-revalidate).
// Status codes stored (206 is not: no range support): 200, 203, 204, 300, 301, 308, 404, 405,
// 410, 414, 501 (heuristically cacheable by default, section 4.2.2) when they carry explicit
// freshness (s-maxage, max-age or an Expires field), and any of them with a validator (ETag or
// Last-Modified). Checked in this order: method, status, no-store, invalid, private,
// Authorization, Vary: *, lifetime. no-store wins over must-understand (the conservative reading
// of section 5.2.2.3's SHOULD). Null pointers count as absent fields.
Storability CanStore(const StoreQuestion& q);

// Section 4.2.1: s-maxage, else max-age, else Expires minus Date (Date absent: the response
// time); an Expires that is malformed or in the past means already stale (0). No heuristics.
Seconds FreshnessLifetime(const CacheControl& response, const http::HeaderList& response_headers,
                          WallTime response_time);

// Section 4.2.3: the age of a stored response now. `request_time`/`response_time`: when the
// request that fetched it was sent and its answer arrived.
Seconds CurrentAge(const http::HeaderList& response_headers, WallTime request_time,
                   WallTime response_time, WallTime now);

// TTL jitter: `lifetime` shortened by `u01` (uniform in [0, 1)) times `percent` of it, never
// lengthened (serving past the origin's freshness is not allowed), never below one second.
Seconds JitteredLifetime(Seconds lifetime, double percent, double u01);

}  // namespace rampart::cache
