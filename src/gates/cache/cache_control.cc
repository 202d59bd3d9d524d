#include "gates/cache/cache_control.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <limits>

#include "core/strings.h"

namespace rampart::cache {
namespace {

// Section 1.2.2: delta-seconds beyond 2^31 count as 2^31.
constexpr std::int64_t kDeltaMax = std::int64_t{1} << 31;

// The seconds WallTime can hold (system_clock counts nanoseconds in 64 bits: about 1677..2262).
constexpr std::int64_t kMaxWallSeconds =
    std::chrono::duration_cast<Seconds>(WallTime::max().time_since_epoch()).count();
constexpr std::int64_t kMinWallSeconds =
    std::chrono::duration_cast<Seconds>(WallTime::min().time_since_epoch()).count();

std::int64_t ToUnixSeconds(WallTime t) {
  return std::chrono::floor<Seconds>(t.time_since_epoch()).count();
}

WallTime FromUnixSeconds(std::int64_t s) {
  if (s > kMaxWallSeconds) s = kMaxWallSeconds;
  if (s < kMinWallSeconds) s = kMinWallSeconds;
  return WallTime(std::chrono::duration_cast<WallTime::duration>(Seconds(s)));
}

// ---- Cache-Control ---------------------------------------------------------------------------

// tchar (RFC 9110 section 5.6.2), one table lookup per byte.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (const char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}();

constexpr bool IsTchar(unsigned char c) { return kTchar[c]; }

// qdtext (RFC 9110 section 5.6.4): HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text.
constexpr bool IsQdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E) || c >= 0x80;
}

// The second octet of a quoted-pair: HTAB, SP, VCHAR, obs-text.
constexpr bool IsQuotedPairChar(unsigned char c) {
  return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7E) || c >= 0x80;
}

struct Argument {
  bool present = false;
  bool quoted = false;
  std::string_view raw;  // a token, or a quoted-string's inside with its escapes
};

// delta-seconds = 1*DIGIT, from a token or a quoted-string (section 5.2: recipients accept both
// forms); saturates at 2^31. nullopt when absent, empty or not all digits.
std::optional<std::int64_t> DeltaSeconds(const Argument& a) {
  if (!a.present) return std::nullopt;
  std::int64_t v = 0;
  bool any = false;
  for (std::size_t i = 0; i < a.raw.size(); ++i) {
    char c = a.raw[i];
    if (a.quoted && c == '\\' && i + 1 < a.raw.size()) c = a.raw[++i];
    if (c < '0' || c > '9') return std::nullopt;
    any = true;
    if (v < kDeltaMax) v = v * 10 + (c - '0');  // at most 2^31 * 10 + 9 before the clamp
    if (v > kDeltaMax) v = kDeltaMax;
  }
  if (!any) return std::nullopt;
  return v;
}

std::optional<std::int64_t> DeltaSeconds(std::string_view token) {
  return DeltaSeconds(Argument{true, false, token});
}

void SetDelta(std::optional<std::int64_t>& slot, std::optional<std::int64_t> v, CacheControl& cc) {
  if (!v) {
    cc.invalid = true;
    return;
  }
  if (slot && *slot != *v) {  // the same directive twice with different values
    cc.invalid = true;
    return;
  }
  slot = v;
}

// A directive defined without an argument. Given one, the field is invalid; a restricting
// directive still counts, `public` (which widens what may be stored) does not.
void SetFlag(bool& flag, const Argument& a, CacheControl& cc, bool widens = false) {
  if (a.present) {
    cc.invalid = true;
    if (widens) return;
  }
  flag = true;
}

void Apply(std::string_view name, const Argument& a, CacheControl& cc) {
  // Sorted roughly by how often they appear in the wild.
  if (IEquals(name, "max-age")) {
    SetDelta(cc.max_age, DeltaSeconds(a), cc);
  } else if (IEquals(name, "no-cache")) {
    cc.no_cache = true;  // with or without a field-name list
  } else if (IEquals(name, "public")) {
    SetFlag(cc.is_public, a, cc, /*widens=*/true);
  } else if (IEquals(name, "private")) {
    cc.is_private = true;  // with or without a field-name list
  } else if (IEquals(name, "no-store")) {
    SetFlag(cc.no_store, a, cc);
  } else if (IEquals(name, "s-maxage")) {
    SetDelta(cc.s_maxage, DeltaSeconds(a), cc);
  } else if (IEquals(name, "must-revalidate")) {
    SetFlag(cc.must_revalidate, a, cc);
  } else if (IEquals(name, "proxy-revalidate")) {
    SetFlag(cc.proxy_revalidate, a, cc);
  } else if (IEquals(name, "no-transform")) {
    SetFlag(cc.no_transform, a, cc);
  } else if (IEquals(name, "stale-while-revalidate")) {
    SetDelta(cc.stale_while_revalidate, DeltaSeconds(a), cc);
  } else if (IEquals(name, "stale-if-error")) {
    SetDelta(cc.stale_if_error, DeltaSeconds(a), cc);
  } else if (IEquals(name, "max-stale")) {
    SetDelta(cc.max_stale,
             a.present ? DeltaSeconds(a) : std::optional(std::numeric_limits<std::int64_t>::max()),
             cc);
  } else if (IEquals(name, "min-fresh")) {
    SetDelta(cc.min_fresh, DeltaSeconds(a), cc);
  } else if (IEquals(name, "only-if-cached")) {
    SetFlag(cc.only_if_cached, a, cc);
  } else if (IEquals(name, "must-understand")) {
    SetFlag(cc.must_understand, a, cc);
  }
  // Anything else is an extension this cache does not know: ignored (section 5.2.3).
}

constexpr bool IsOws(char c) { return c == ' ' || c == '\t'; }

}  // namespace

// cache-directive = token [ "=" ( token / quoted-string ) ], in a #list (RFC 9110 section 5.6.1:
// empty elements and OWS around commas allowed); OWS around "=" is tolerated. An element that
// does not fit makes the field invalid, and parsing resumes after the next comma outside a
// quoted-string, so a directive after it (no-store) still counts. One pass: linear time.
void ParseCacheControlValue(std::string_view v, CacheControl& into) {
  const std::size_t n = v.size();
  std::size_t i = 0;
  while (i < n) {
    while (i < n && (IsOws(v[i]) || v[i] == ',')) ++i;
    if (i >= n) break;

    bool ok = true;
    const std::size_t name_start = i;
    while (i < n && IsTchar(static_cast<unsigned char>(v[i]))) ++i;
    const std::string_view name = v.substr(name_start, i - name_start);
    if (name.empty()) ok = false;

    Argument arg;
    if (ok) {
      std::size_t j = i;
      while (j < n && IsOws(v[j])) ++j;
      if (j < n && v[j] == '=') {
        i = j + 1;
        while (i < n && IsOws(v[i])) ++i;
        arg.present = true;
        if (i < n && v[i] == '"') {
          arg.quoted = true;
          const std::size_t start = ++i;
          bool closed = false;
          while (i < n) {
            const auto c = static_cast<unsigned char>(v[i]);
            if (c == '"') {
              closed = true;
              break;
            }
            if (c == '\\') {
              if (i + 1 >= n || !IsQuotedPairChar(static_cast<unsigned char>(v[i + 1]))) break;
              i += 2;
              continue;
            }
            if (!IsQdtext(c)) break;
            ++i;
          }
          if (closed) {
            arg.raw = v.substr(start, i - start);
            ++i;  // the closing quote
          } else {
            ok = false;
          }
        } else {
          const std::size_t start = i;
          while (i < n && IsTchar(static_cast<unsigned char>(v[i]))) ++i;
          arg.raw = v.substr(start, i - start);
          if (arg.raw.empty()) ok = false;  // "max-age=" or "max-age=,"
        }
      }
    }
    if (ok) {
      while (i < n && IsOws(v[i])) ++i;
      if (i < n && v[i] != ',') ok = false;  // "max-age=60 no-store", "public; max-age=60"
    }

    if (ok) {
      Apply(name, arg, into);
      continue;
    }
    into.invalid = true;
    // Resynchronise at the next comma outside a quoted-string (an unterminated one runs to the
    // end of the field).
    bool in_quotes = false;
    while (i < n) {
      const char c = v[i];
      if (in_quotes) {
        if (c == '\\') {
          i += 2;
          continue;
        }
        if (c == '"') in_quotes = false;
      } else if (c == '"') {
        in_quotes = true;
      } else if (c == ',') {
        break;
      }
      ++i;
    }
  }
}

CacheControl ParseCacheControl(const http::HeaderList& headers) {
  CacheControl cc;
  for (const auto& f : headers) {
    if (IEquals(f.name, "cache-control")) ParseCacheControlValue(f.value, cc);
  }
  return cc;
}

// ---- HTTP-date -------------------------------------------------------------------------------

namespace {

constexpr std::string_view kShortDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view kLongDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian, any int year).
constexpr std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t year;
  unsigned month;
  unsigned day;
};

constexpr Civil CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2 ? 1 : 0), m, d};
}

constexpr std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0) ? 1 : 0);
}

constexpr bool IsLeap(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

constexpr unsigned DaysInMonth(std::int64_t y, unsigned m) {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Exactly `count` ASCII digits at s[pos...].
bool Digits(std::string_view s, std::size_t pos, std::size_t count, int& out) {
  if (pos > s.size() || s.size() - pos < count) return false;
  int v = 0;
  for (std::size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

// 1..12, or 0.
unsigned Month(std::string_view s) {
  for (unsigned i = 0; i < 12; ++i) {
    if (s == kMonths[i]) return i + 1;
  }
  return 0;
}

bool OneOf(std::string_view s, const std::string_view (&names)[7]) {
  for (auto n : names) {
    if (s == n) return true;
  }
  return false;
}

// time-of-day = hour ":" minute ":" second, "HH:MM:SS" (second 60: a leap second).
bool TimeOfDay(std::string_view s, std::size_t pos, int& seconds_of_day) {
  int h = 0;
  int m = 0;
  int sec = 0;
  if (pos > s.size() || s.size() - pos < 8) return false;
  if (!Digits(s, pos, 2, h) || s[pos + 2] != ':' || !Digits(s, pos + 3, 2, m) ||
      s[pos + 5] != ':' || !Digits(s, pos + 6, 2, sec)) {
    return false;
  }
  if (h > 23 || m > 59 || sec > 60) return false;
  seconds_of_day = h * 3600 + m * 60 + sec;
  return true;
}

std::optional<WallTime> Make(std::int64_t year, unsigned month, int day, int seconds_of_day) {
  if (month == 0 || day < 1 || static_cast<unsigned>(day) > DaysInMonth(year, month)) {
    return std::nullopt;
  }
  const std::int64_t days = DaysFromCivil(year, month, static_cast<unsigned>(day));
  return FromUnixSeconds(days * 86400 + seconds_of_day);
}

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT".
std::optional<WallTime> ParseImfFixdate(std::string_view s) {
  if (s.size() != 29 || !OneOf(s.substr(0, 3), kShortDays) || s.substr(3, 2) != ", " ||
      s[7] != ' ' || s[11] != ' ' || s[16] != ' ' || s.substr(25) != " GMT") {
    return std::nullopt;
  }
  int day = 0;
  int year = 0;
  int tod = 0;
  if (!Digits(s, 5, 2, day) || !Digits(s, 12, 4, year) || !TimeOfDay(s, 17, tod)) {
    return std::nullopt;
  }
  return Make(year, Month(s.substr(8, 3)), day, tod);
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT".
std::optional<WallTime> ParseRfc850(std::string_view s, WallTime now) {
  const std::size_t comma = s.find(',');
  if (comma == std::string_view::npos || !OneOf(s.substr(0, comma), kLongDays)) return std::nullopt;
  const std::string_view r = s.substr(comma);  // ", 06-Nov-94 08:49:37 GMT"
  if (r.size() != 24 || r.substr(0, 2) != ", " || r[4] != '-' || r[8] != '-' || r[11] != ' ' ||
      r.substr(20) != " GMT") {
    return std::nullopt;
  }
  int day = 0;
  int yy = 0;
  int tod = 0;
  if (!Digits(r, 2, 2, day) || !Digits(r, 9, 2, yy) || !TimeOfDay(r, 12, tod)) {
    return std::nullopt;
  }
  // The latest year ending in `yy` that is at most 50 years after now's year.
  const std::int64_t limit = CivilFromDays(FloorDiv(ToUnixSeconds(now), 86400)).year + 50;
  const std::int64_t back = ((limit - yy) % 100 + 100) % 100;
  return Make(limit - back, Month(r.substr(5, 3)), day, tod);
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (the day is 2DIGIT or SP DIGIT).
std::optional<WallTime> ParseAsctime(std::string_view s) {
  if (s.size() != 24 || !OneOf(s.substr(0, 3), kShortDays) || s[3] != ' ' || s[7] != ' ' ||
      s[10] != ' ' || s[19] != ' ') {
    return std::nullopt;
  }
  int day = 0;
  if (s[8] == ' ') {
    if (!Digits(s, 9, 1, day)) return std::nullopt;
  } else if (!Digits(s, 8, 2, day)) {
    return std::nullopt;
  }
  int year = 0;
  int tod = 0;
  if (!TimeOfDay(s, 11, tod) || !Digits(s, 20, 4, year)) return std::nullopt;
  return Make(year, Month(s.substr(4, 3)), day, tod);
}

}  // namespace

std::optional<WallTime> ParseHttpDate(std::string_view s, WallTime now) {
  if (s.size() < 4) return std::nullopt;
  if (s[3] == ',') return ParseImfFixdate(s);
  if (s[3] == ' ') return ParseAsctime(s);
  return ParseRfc850(s, now);
}

std::optional<WallTime> ParseHttpDate(std::string_view s) {
  return ParseHttpDate(s, std::chrono::system_clock::now());
}

std::string FormatHttpDate(WallTime t) {
  const std::int64_t secs = ToUnixSeconds(t);
  const std::int64_t days = FloorDiv(secs, 86400);
  const std::int64_t rem = secs - days * 86400;
  const Civil c = CivilFromDays(days);
  const auto weekday = static_cast<std::size_t>(((days % 7) + 7 + 4) % 7);  // 1970-01-01: Thu
  char buf[64];
  const int len = std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02d:%02d:%02d GMT",
                                kShortDays[weekday].data(), c.day, kMonths[c.month - 1].data(),
                                static_cast<long long>(c.year), static_cast<int>(rem / 3600),
                                static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
  return std::string(buf, len > 0 ? static_cast<std::size_t>(len) : 0);
}

// ---- Storing, freshness, age -----------------------------------------------------------------

namespace {

const http::HeaderList& EmptyHeaders() {
  static const http::HeaderList kEmpty;
  return kEmpty;
}

bool StatusStorable(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

bool HasVaryStar(const http::HeaderList& headers) {
  bool star = false;
  for (const auto& f : headers) {
    if (!IEquals(f.name, "vary")) continue;
    ForEachListToken(f.value, [&](std::string_view token) { star = star || token == "*"; });
    if (star) return true;
  }
  return false;
}

}  // namespace

Storability CanStore(const StoreQuestion& q) {
  static const CacheControl kNone;
  const CacheControl& req = q.request ? *q.request : kNone;
  const CacheControl& res = q.response ? *q.response : kNone;
  const http::HeaderList& headers = q.response_headers ? *q.response_headers : EmptyHeaders();

  if (q.method != "GET") return Storability::kMethod;
  if (!StatusStorable(q.status)) return Storability::kStatus;
  if (req.no_store || res.no_store) return Storability::kNoStore;
  if (req.invalid || res.invalid) return Storability::kInvalid;
  if (res.is_private) return Storability::kPrivate;
  if (q.request_has_authorization && !res.is_public && !res.s_maxage && !res.must_revalidate) {
    return Storability::kAuthorization;
  }
  if (HasVaryStar(headers)) return Storability::kVaryStar;
  const bool explicit_freshness = res.s_maxage || res.max_age || headers.Has("expires");
  const bool validator = headers.Has("etag") || headers.Has("last-modified");
  if (!explicit_freshness && !validator) return Storability::kNoLifetime;
  return Storability::kStorable;
}

Seconds FreshnessLifetime(const CacheControl& response, const http::HeaderList& response_headers,
                          WallTime response_time) {
  if (response.invalid) return Seconds(0);
  if (response.s_maxage) return Seconds(*response.s_maxage);
  if (response.max_age) return Seconds(*response.max_age);

  // Expires: every field must parse and agree (section 4.2.1: more than one value may be
  // treated as stale); otherwise already stale.
  std::optional<WallTime> expires;
  for (const auto& f : response_headers) {
    if (!IEquals(f.name, "expires")) continue;
    const auto t = ParseHttpDate(f.value, response_time);
    if (!t || (expires && *expires != *t)) return Seconds(0);
    expires = t;
  }
  if (!expires) return Seconds(0);  // no explicit freshness, and heuristics are off

  bool has_date = false;
  const std::string_view date_field = response_headers.Get("date", &has_date);
  const std::optional<WallTime> date =
      has_date ? ParseHttpDate(date_field, response_time) : std::optional<WallTime>();
  const std::int64_t lifetime =
      ToUnixSeconds(*expires) - ToUnixSeconds(date ? *date : response_time);
  if (lifetime <= 0) return Seconds(0);
  return Seconds(lifetime > kDeltaMax ? kDeltaMax : lifetime);
}

Seconds CurrentAge(const http::HeaderList& response_headers, WallTime request_time,
                   WallTime response_time, WallTime now) {
  bool has_age = false;
  const std::string_view age_field = response_headers.Get("age", &has_age);
  // A malformed Age is "not available": 0 (section 4.2.3).
  const std::int64_t age_value = has_age ? DeltaSeconds(age_field).value_or(0) : 0;

  bool has_date = false;
  const std::string_view date_field = response_headers.Get("date", &has_date);
  const std::optional<WallTime> date =
      has_date ? ParseHttpDate(date_field, response_time) : std::optional<WallTime>();

  // Every term is at most a few times 2^34 seconds (WallTime's range): no overflow in int64.
  const std::int64_t response = ToUnixSeconds(response_time);
  const std::int64_t date_value = date ? ToUnixSeconds(*date) : response;
  const std::int64_t apparent_age = std::max<std::int64_t>(0, response - date_value);
  const std::int64_t response_delay =
      std::max<std::int64_t>(0, response - ToUnixSeconds(request_time));
  const std::int64_t corrected_age_value = age_value + response_delay;
  const std::int64_t corrected_initial_age = std::max(apparent_age, corrected_age_value);
  const std::int64_t resident_time = std::max<std::int64_t>(0, ToUnixSeconds(now) - response);
  return Seconds(corrected_initial_age + resident_time);
}

Seconds JitteredLifetime(Seconds lifetime, double percent, double u01) {
  if (percent <= 0 || lifetime.count() <= 1) return lifetime;
  const double share = std::clamp(u01, 0.0, 1.0) * std::min(percent, 100.0) / 100.0;
  const auto cut = static_cast<std::int64_t>(static_cast<double>(lifetime.count()) * share);
  return std::max(Seconds(1), lifetime - Seconds(cut));
}

}  // namespace rampart::cache
