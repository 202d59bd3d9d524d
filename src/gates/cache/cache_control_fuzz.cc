// libFuzzer target: arbitrary bytes as a Cache-Control value, as an HTTP-date, and as a response
// head ("name: value" lines). No crash, no read out of bounds, bounded time, and:
// - delta-seconds land in [0, 2^31] (max-stale without a value: INT64_MAX);
// - parsing a value twice into the same CacheControl changes nothing (repeating a directive
//   with the same value is not a conflict);
// - a parsed date formats as a 29-byte IMF-fixdate that parses back to the same instant;
// - freshness lifetimes are in [0, 2^31] and ages are never negative, even at WallTime's ends.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "gates/cache/cache_control.h"

namespace {

using rampart::cache::CacheControl;
using rampart::cache::WallTime;

constexpr std::int64_t kDeltaMax = std::int64_t{1} << 31;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckDelta(const std::optional<std::int64_t>& v, bool allow_max = false) {
  if (!v) return;
  if (allow_max && *v == std::numeric_limits<std::int64_t>::max()) return;
  Check(*v >= 0 && *v <= kDeltaMax);
}

bool Same(const CacheControl& a, const CacheControl& b) {
  return a.max_age == b.max_age && a.no_cache == b.no_cache && a.no_store == b.no_store &&
         a.no_transform == b.no_transform && a.max_stale == b.max_stale &&
         a.min_fresh == b.min_fresh && a.only_if_cached == b.only_if_cached &&
         a.s_maxage == b.s_maxage && a.must_revalidate == b.must_revalidate &&
         a.proxy_revalidate == b.proxy_revalidate && a.must_understand == b.must_understand &&
         a.is_private == b.is_private && a.is_public == b.is_public &&
         a.stale_while_revalidate == b.stale_while_revalidate &&
         a.stale_if_error == b.stale_if_error && a.invalid == b.invalid;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace cache = rampart::cache;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // As one Cache-Control value.
  CacheControl cc;
  cache::ParseCacheControlValue(in, cc);
  CheckDelta(cc.max_age);
  CheckDelta(cc.s_maxage);
  CheckDelta(cc.min_fresh);
  CheckDelta(cc.max_stale, /*allow_max=*/true);
  CheckDelta(cc.stale_while_revalidate);
  CheckDelta(cc.stale_if_error);
  CacheControl twice = cc;
  cache::ParseCacheControlValue(in, twice);
  Check(Same(cc, twice));

  // As an HTTP-date, against a fixed clock (2025-01-01) for RFC 850 years.
  const WallTime now{std::chrono::seconds(1735689600)};
  if (const auto t = cache::ParseHttpDate(in, now)) {
    const std::string formatted = cache::FormatHttpDate(*t);
    Check(formatted.size() == 29);
    const auto back = cache::ParseHttpDate(formatted, now);
    Check(back.has_value() && *back == *t);
  }

  // As a response head: "name: value" lines.
  rampart::http::HeaderList headers;
  std::string_view rest = in;
  while (!rest.empty() && headers.size() < 64) {
    const std::size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    headers.Add(line.substr(0, colon), rampart::TrimOws(line.substr(colon + 1)));
  }
  const CacheControl response = cache::ParseCacheControl(headers);
  const CacheControl request;
  for (const WallTime t : {now, WallTime::min(), WallTime::max()}) {
    const auto lifetime = cache::FreshnessLifetime(response, headers, t);
    Check(lifetime.count() >= 0 && lifetime.count() <= kDeltaMax);
    Check(cache::CurrentAge(headers, t, t, t).count() >= 0);
  }
  Check(cache::CurrentAge(headers, WallTime::min(), WallTime::max(), WallTime::min()).count() >= 0);
  Check(cache::CurrentAge(headers, WallTime::max(), WallTime::min(), WallTime::max()).count() >= 0);
  for (const std::string_view method : {"GET", "HEAD"}) {
    cache::StoreQuestion q;
    q.method = method;
    q.status = 200;
    q.request = &request;
    q.response = &response;
    q.response_headers = &headers;
    q.request_has_authorization = size % 2 == 1;
    const auto s = cache::CanStore(q);
    if (method != "GET") Check(s == cache::Storability::kMethod);
    if (s == cache::Storability::kStorable) Check(!response.no_store && !response.invalid);
  }
  return 0;
}
