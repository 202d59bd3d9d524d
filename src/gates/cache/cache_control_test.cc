// Cache-Control parsing (RFC 9111 section 5.2, RFC 5861), HTTP dates (RFC 9110 section 5.6.7),
// storability (RFC 9111 section 3), freshness lifetime (4.2.1) and age (4.2.3), with the RFCs'
// own examples and hostile inputs.
#include "gates/cache/cache_control.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <string>

namespace rampart::cache {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kDeltaMax = std::int64_t{1} << 31;

CacheControl Parse(std::string_view v) {
  CacheControl cc;
  ParseCacheControlValue(v, cc);
  return cc;
}

// A UTC calendar time.
WallTime At(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return WallTime(std::chrono::sys_days(std::chrono::year(y) / std::chrono::month(m) /
                                        std::chrono::day(d))) +
         std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s);
}

// RFC 9110 section 5.6.7's example instant: Sun, 06 Nov 1994 08:49:37 GMT.
const WallTime kRfcExample = At(1994, 11, 6, 8, 49, 37);
// The clock RFC 850 years are placed against in these tests.
const WallTime kNow2025 = At(2025, 6, 1);

// ---- Cache-Control -----------------------------------------------------------------------------

TEST(CacheControlParse, EveryKnownDirective) {
  const CacheControl r = Parse(
      "max-age=60, s-maxage=30, no-cache, no-store, no-transform, must-revalidate, "
      "proxy-revalidate, must-understand, private, public, stale-while-revalidate=5, "
      "stale-if-error=7");
  EXPECT_FALSE(r.invalid);
  EXPECT_EQ(r.max_age, 60);
  EXPECT_EQ(r.s_maxage, 30);
  EXPECT_TRUE(r.no_cache && r.no_store && r.no_transform && r.must_revalidate &&
              r.proxy_revalidate && r.must_understand && r.is_private && r.is_public);
  EXPECT_EQ(r.stale_while_revalidate, 5);
  EXPECT_EQ(r.stale_if_error, 7);

  const CacheControl q = Parse("max-stale=10, min-fresh=20, only-if-cached");
  EXPECT_FALSE(q.invalid);
  EXPECT_EQ(q.max_stale, 10);
  EXPECT_EQ(q.min_fresh, 20);
  EXPECT_TRUE(q.only_if_cached);

  const CacheControl none = Parse("");
  EXPECT_FALSE(none.invalid);
  EXPECT_FALSE(none.max_age || none.s_maxage || none.no_cache || none.no_store || none.is_public);
}

TEST(CacheControlParse, Rfc5861Examples) {
  const CacheControl a = Parse("max-age=600, stale-while-revalidate=30");
  EXPECT_EQ(a.max_age, 600);
  EXPECT_EQ(a.stale_while_revalidate, 30);
  const CacheControl b = Parse("max-age=600, stale-if-error=1200");
  EXPECT_EQ(b.stale_if_error, 1200);
  EXPECT_FALSE(a.invalid || b.invalid);
  EXPECT_TRUE(Parse("stale-while-revalidate").invalid);  // needs its delta-seconds
  EXPECT_TRUE(Parse("stale-if-error=soon").invalid);
}

TEST(CacheControlParse, NamesAreCaseInsensitive) {
  const CacheControl cc = Parse("MAX-AGE=60, No-Store, S-MaxAge=5, PUBLIC, Private");
  EXPECT_FALSE(cc.invalid);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_EQ(cc.s_maxage, 5);
  EXPECT_TRUE(cc.no_store && cc.is_public && cc.is_private);
}

TEST(CacheControlParse, ListRuleWhitespaceAndEmptyElements) {
  const CacheControl cc = Parse(" ,, max-age = 60 ,\tpublic\t,,  no-cache ,");
  EXPECT_FALSE(cc.invalid);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_TRUE(cc.is_public && cc.no_cache);
  EXPECT_FALSE(Parse(",,,").invalid);
  EXPECT_FALSE(Parse(" \t ").invalid);
}

TEST(CacheControlParse, QuotedArgumentsAreAccepted) {
  EXPECT_EQ(Parse("max-age=\"60\"").max_age, 60);  // section 5.2: recipients accept both forms
  EXPECT_FALSE(Parse("max-age=\"60\"").invalid);
  EXPECT_EQ(Parse("s-maxage=\"0\"").s_maxage, 0);
  EXPECT_EQ(Parse("max-age=\"6\\0\"").max_age, 60);  // a quoted-pair stands for its octet
  EXPECT_TRUE(Parse("max-age=\"\"").invalid);
  EXPECT_TRUE(Parse("max-age=\" 60\"").invalid);
  EXPECT_TRUE(Parse("max-age=\"6 0\"").invalid);
  EXPECT_TRUE(Parse("max-age=\"60\"x").invalid);
}

TEST(CacheControlParse, FieldNameListsCountAsTheUnqualifiedDirective) {
  const CacheControl a = Parse("no-cache=\"Set-Cookie, X-Foo\", max-age=5");
  EXPECT_FALSE(a.invalid);
  EXPECT_TRUE(a.no_cache);
  EXPECT_EQ(a.max_age, 5);
  const CacheControl b = Parse("private=\"Set-Cookie\"");
  EXPECT_FALSE(b.invalid);
  EXPECT_TRUE(b.is_private);
  EXPECT_TRUE(Parse("no-cache=Set-Cookie").no_cache);  // token form
  EXPECT_TRUE(Parse("private=\"\"").is_private);
  // A comma inside the quoted list does not start a directive.
  const CacheControl c = Parse("private=\"a, no-store, max-age=9\"");
  EXPECT_FALSE(c.invalid);
  EXPECT_FALSE(c.no_store);
  EXPECT_FALSE(c.max_age);
}

TEST(CacheControlParse, UnknownDirectivesAreIgnored) {
  // Section 5.2.3's own example, plus extension tokens of every shape.
  const CacheControl cc = Parse("private, community=\"UCI\", immutable, foo=bar, x-y=\"a,b\"");
  EXPECT_FALSE(cc.invalid);
  EXPECT_TRUE(cc.is_private);
  EXPECT_FALSE(cc.is_public);
  EXPECT_FALSE(Parse("max-agex=abc, nostore").invalid);
  EXPECT_FALSE(Parse("max-agex=abc, nostore").no_store);
}

TEST(CacheControlParse, DeltaSecondsClampAt2To31) {
  EXPECT_EQ(Parse("max-age=2147483647").max_age, 2147483647);
  EXPECT_EQ(Parse("max-age=2147483648").max_age, kDeltaMax);
  EXPECT_EQ(Parse("max-age=2147483649").max_age, kDeltaMax);
  EXPECT_EQ(Parse("max-age=99999999999999999999999999999999999999").max_age, kDeltaMax);
  EXPECT_EQ(Parse("s-maxage=18446744073709551616").s_maxage, kDeltaMax);  // 2^64
  EXPECT_EQ(Parse("max-age=0007").max_age, 7);
  EXPECT_EQ(Parse("max-age=0").max_age, 0);
  EXPECT_FALSE(Parse("max-age=99999999999999999999").invalid);
  const std::string many_digits = "max-age=" + std::string(100000, '9');
  EXPECT_EQ(Parse(many_digits).max_age, kDeltaMax);
}

TEST(CacheControlParse, MalformedDeltaSecondsAreInvalid) {
  for (const char* v :
       {"max-age=-1", "max-age=+5", "max-age=1.5", "max-age=0x10", "max-age=60s", "max-age=abc",
        "max-age=", "max-age", "max-age=,public", "s-maxage", "min-fresh=-0", "max-stale=x",
        "max-age=\"-1\"", "max-age= ", "max-age=1e3", "max-age=١٢"}) {
    EXPECT_TRUE(Parse(v).invalid) << v;
    EXPECT_FALSE(Parse(v).max_age) << v;
  }
  // The rest of the field still counts.
  const CacheControl cc = Parse("max-age=,public");
  EXPECT_TRUE(cc.invalid);
  EXPECT_TRUE(cc.is_public);
}

TEST(CacheControlParse, MaxStaleWithoutValueIsUnbounded) {
  EXPECT_EQ(Parse("max-stale").max_stale, std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(Parse("max-stale=30").max_stale, 30);
  EXPECT_TRUE(Parse("max-stale, max-stale=30").invalid);  // two different values
  EXPECT_FALSE(Parse("max-stale, max-stale").invalid);
}

TEST(CacheControlParse, RepeatedDirectivesMustAgree) {
  EXPECT_FALSE(Parse("max-age=60, max-age=60").invalid);
  EXPECT_FALSE(Parse("max-age=60, max-age=\"60\", max-age=060").invalid);
  const CacheControl cc = Parse("max-age=60, max-age=3600");
  EXPECT_TRUE(cc.invalid);
  EXPECT_EQ(cc.max_age, 60);  // the first is kept, but the field is invalid
  EXPECT_TRUE(Parse("s-maxage=1, s-maxage=2").invalid);
  EXPECT_TRUE(Parse("stale-if-error=1, stale-if-error=2").invalid);
  // Both clamp to 2^31: the same value.
  EXPECT_FALSE(Parse("max-age=2147483648, max-age=99999999999").invalid);
  EXPECT_FALSE(Parse("no-store, no-store, public, public").invalid);

  // Across field lines, too.
  http::HeaderList h;
  h.Add("Cache-Control", "max-age=60");
  h.Add("Content-Type", "text/plain");
  h.Add("cache-control", "max-age=61");
  EXPECT_TRUE(ParseCacheControl(h).invalid);
}

TEST(CacheControlParse, CombinesEveryFieldLine) {
  http::HeaderList h;
  h.Add("CACHE-CONTROL", "public");
  h.Add("X-Cache-Control", "no-store");  // another field
  h.Add("Cache-Control", "max-age=60");
  h.Add("cache-control", "");
  const CacheControl cc = ParseCacheControl(h);
  EXPECT_FALSE(cc.invalid);
  EXPECT_TRUE(cc.is_public);
  EXPECT_FALSE(cc.no_store);
  EXPECT_EQ(cc.max_age, 60);
  EXPECT_FALSE(ParseCacheControl(http::HeaderList()).invalid);
}

TEST(CacheControlParse, ArgumentsOnDirectivesThatTakeNone) {
  const CacheControl a = Parse("no-store=1");
  EXPECT_TRUE(a.invalid);
  EXPECT_TRUE(a.no_store);  // restricting: still counts
  const CacheControl b = Parse("public=yes");
  EXPECT_TRUE(b.invalid);
  EXPECT_FALSE(b.is_public);  // widening: does not
  EXPECT_TRUE(Parse("must-revalidate=\"\"").invalid);
  EXPECT_TRUE(Parse("only-if-cached=1").invalid);
}

TEST(CacheControlParse, SyntaxErrorsInvalidateButLaterDirectivesCount) {
  for (const char* v : {"public; max-age=60", "max-age=60 no-store", "@@", "=60", "\"quoted\"",
                        "max-age==60", "max-age=60=", "max-age=(60)", "no-store;", "a b",
                        "max-age=\"60", "foo=\"bar", "foo=\"bar\\", "\"", "=", "max-age=\"\\"}) {
    EXPECT_TRUE(Parse(v).invalid) << v;
  }
  const CacheControl a = Parse("@@, no-store");
  EXPECT_TRUE(a.invalid);
  EXPECT_TRUE(a.no_store);
  const CacheControl b = Parse("foo=\"x, y\" junk, max-age=5");  // resync outside the quotes
  EXPECT_TRUE(b.invalid);
  EXPECT_EQ(b.max_age, 5);
  // An unterminated quote swallows the rest of the field: no-store there is not a directive.
  const CacheControl c = Parse("foo=\"bar, no-store");
  EXPECT_TRUE(c.invalid);
  EXPECT_FALSE(c.no_store);
  EXPECT_TRUE(Parse("no-cache=\"x").invalid);
}

TEST(CacheControlParse, ControlAndNulBytes) {
  using namespace std::string_literals;
  EXPECT_TRUE(Parse("max-age=6\0"s).invalid);
  EXPECT_TRUE(Parse("\0max-age=6"s).invalid);
  EXPECT_TRUE(Parse("no-store\0"s).invalid);
  EXPECT_TRUE(Parse("max-age=\"6\0\""s).invalid);
  EXPECT_TRUE(Parse("private=\"a\rb\"").invalid);
  EXPECT_TRUE(Parse("no-cache\n, public").invalid);
  EXPECT_TRUE(Parse("\x7f").invalid);
  EXPECT_FALSE(Parse("private=\"caf\xc3\xa9\"").invalid);  // obs-text in a quoted-string
  EXPECT_TRUE(Parse("max-age\xff=1").invalid);
}

TEST(CacheControlParse, HugeInputsStayLinear) {
  std::string commas(1 << 20, ',');
  EXPECT_FALSE(Parse(commas).invalid);

  std::string tokens;
  for (int i = 0; i < 100000; ++i) tokens += "x-ext-";
  tokens += ", max-age=1";
  EXPECT_EQ(Parse(tokens).max_age, 1);

  std::string repeated;
  for (int i = 0; i < 100000; ++i) repeated += "max-age=5,";
  const CacheControl r = Parse(repeated);
  EXPECT_FALSE(r.invalid);
  EXPECT_EQ(r.max_age, 5);

  std::string quotes(1 << 20, '"');  // alternately opening and closing: all malformed elements
  EXPECT_TRUE(Parse(quotes).invalid);

  std::string escapes = "foo=\"" + std::string(1 << 20, '\\');  // unterminated, all escapes
  EXPECT_TRUE(Parse(escapes).invalid);

  std::string garbage;
  for (int i = 0; i < 200000; ++i) garbage += "@,";
  garbage += "no-store";
  const CacheControl g = Parse(garbage);
  EXPECT_TRUE(g.invalid);
  EXPECT_TRUE(g.no_store);
}

// ---- HTTP-date ---------------------------------------------------------------------------------

TEST(HttpDate, TheThreeFormsOfRfc9110) {
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT", kNow2025), kRfcExample);
  EXPECT_EQ(ParseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT", kNow2025), kRfcExample);
  EXPECT_EQ(ParseHttpDate("Sun Nov  6 08:49:37 1994", kNow2025), kRfcExample);
  EXPECT_EQ(ParseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), kRfcExample);  // the system clock
  EXPECT_EQ(kRfcExample.time_since_epoch(), 784111777s);
}

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(FormatHttpDate(kRfcExample), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(WallTime()), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(FormatHttpDate(WallTime() - 1s), "Wed, 31 Dec 1969 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(WallTime() - 1ms), "Wed, 31 Dec 1969 23:59:59 GMT");  // floors
  EXPECT_EQ(FormatHttpDate(kRfcExample + 999ms), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(FormatHttpDate(At(2000, 2, 29, 23, 59, 59)), "Tue, 29 Feb 2000 23:59:59 GMT");
  EXPECT_EQ(FormatHttpDate(At(2038, 1, 19, 3, 14, 8)), "Tue, 19 Jan 2038 03:14:08 GMT");
  EXPECT_EQ(FormatHttpDate(WallTime::max()).size(), 29u);
  EXPECT_EQ(FormatHttpDate(WallTime::min()).size(), 29u);
}

TEST(HttpDate, RoundTrips) {
  for (const WallTime t : {kRfcExample, WallTime(), At(1900, 3, 1), At(2024, 2, 29, 12),
                           At(2099, 12, 31, 23, 59, 59), At(1700, 1, 1)}) {
    EXPECT_EQ(ParseHttpDate(FormatHttpDate(t), kNow2025), t) << FormatHttpDate(t);
  }
  // Every few weeks across WallTime's range (about 1677..2262).
  for (std::int64_t s = -250LL * 86400 * 366; s < 250LL * 86400 * 366; s += 86400 * 37 + 3607) {
    const WallTime t{std::chrono::seconds(s)};
    ASSERT_EQ(ParseHttpDate(FormatHttpDate(t), kNow2025), t) << FormatHttpDate(t);
  }
}

TEST(HttpDate, Rfc850TwoDigitYearsFollowThe50YearRule) {
  auto year_of = [](std::string_view s, WallTime now) {
    const auto t = ParseHttpDate(s, now);
    EXPECT_TRUE(t.has_value()) << s;
    if (!t) return 0;
    return static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*t)).year());
  };
  // Now is 2025: up to 2075 is not "more than 50 years in the future".
  EXPECT_EQ(year_of("Sunday, 06-Nov-94 08:49:37 GMT", kNow2025), 1994);
  EXPECT_EQ(year_of("Friday, 06-Nov-25 08:49:37 GMT", kNow2025), 2025);
  EXPECT_EQ(year_of("Wednesday, 06-Nov-75 08:49:37 GMT", kNow2025), 2075);
  EXPECT_EQ(year_of("Saturday, 06-Nov-76 08:49:37 GMT", kNow2025), 1976);
  EXPECT_EQ(year_of("Monday, 06-Nov-00 08:49:37 GMT", kNow2025), 2000);
  EXPECT_EQ(year_of("Monday, 06-Nov-99 08:49:37 GMT", kNow2025), 1999);
  // Now is 2080: a year of 10 is 2110, 31 is 2031 (2131 would be 51 years ahead).
  EXPECT_EQ(year_of("Monday, 06-Nov-10 08:49:37 GMT", At(2080, 1, 1)), 2110);
  EXPECT_EQ(year_of("Monday, 06-Nov-30 08:49:37 GMT", At(2080, 1, 1)), 2130);
  EXPECT_EQ(year_of("Monday, 06-Nov-31 08:49:37 GMT", At(2080, 1, 1)), 2031);
  // Now is 1969 (before the epoch): 19 is 2019, 20 is 1920.
  EXPECT_EQ(year_of("Monday, 06-Nov-19 08:49:37 GMT", At(1969, 12, 31)), 2019);
  EXPECT_EQ(year_of("Monday, 06-Nov-20 08:49:37 GMT", At(1969, 12, 31)), 1920);
  // 29 February only in a leap year of the chosen century.
  EXPECT_TRUE(ParseHttpDate("Tuesday, 29-Feb-00 00:00:00 GMT", kNow2025));         // 2000
  EXPECT_FALSE(ParseHttpDate("Tuesday, 29-Feb-00 00:00:00 GMT", At(2140, 1, 1)));  // 2100
}

TEST(HttpDate, AsctimeDays) {
  EXPECT_EQ(ParseHttpDate("Wed Nov 16 08:49:37 1994", kNow2025), At(1994, 11, 16, 8, 49, 37));
  EXPECT_EQ(ParseHttpDate("Sun Nov 06 08:49:37 1994", kNow2025), kRfcExample);  // 2DIGIT
  EXPECT_FALSE(ParseHttpDate("Sun Nov 6 08:49:37 1994", kNow2025));  // one space: too short
  EXPECT_FALSE(ParseHttpDate("Sun Nov  6 08:49:37 94", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun Nov  6 08:49:37 1994 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun Nov  0 08:49:37 1994", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun Nov   08:49:37 1994", kNow2025));
}

TEST(HttpDate, CalendarAndClockRanges) {
  EXPECT_TRUE(ParseHttpDate("Tue, 29 Feb 2000 00:00:00 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Thu, 29 Feb 1900 00:00:00 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 29 Feb 2023 00:00:00 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Thu, 31 Nov 1994 08:49:37 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 00 Nov 1994 08:49:37 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 32 Dec 1994 08:49:37 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 24:00:00 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:60:37 GMT", kNow2025));
  EXPECT_FALSE(ParseHttpDate("Sun, 06 Nov 1994 08:49:61 GMT", kNow2025));
  // A leap second is the next second.
  EXPECT_EQ(ParseHttpDate("Sat, 31 Dec 2016 23:59:60 GMT", kNow2025), At(2017, 1, 1));
  // The day-name is not checked against the date (as most recipients).
  EXPECT_EQ(ParseHttpDate("Mon, 06 Nov 1994 08:49:37 GMT", kNow2025), kRfcExample);
}

TEST(HttpDate, YearsBeyondWallTimeClamp) {
  const auto far = ParseHttpDate("Fri, 31 Dec 9999 23:59:59 GMT", kNow2025);
  ASSERT_TRUE(far);
  EXPECT_GT(*far, At(2262, 1, 1));
  EXPECT_LE(*far, WallTime::max());
  const auto early = ParseHttpDate("Mon, 01 Jan 0001 00:00:00 GMT", kNow2025);
  ASSERT_TRUE(early);
  EXPECT_LT(*early, At(1678, 1, 1));
  EXPECT_TRUE(ParseHttpDate("Sat, 01 Jan 0000 00:00:00 GMT", kNow2025));
}

TEST(HttpDate, MalformedIsNullopt) {
  using namespace std::string_literals;
  for (const std::string& v : {""s,
                               "0"s,
                               "-1"s,
                               "Sun"s,
                               "Sun,"s,
                               "784111777"s,
                               "sun, 06 Nov 1994 08:49:37 GMT"s,
                               "SUN, 06 Nov 1994 08:49:37 GMT"s,
                               "Sun, 06 nov 1994 08:49:37 GMT"s,
                               "Sun, 06 NOV 1994 08:49:37 GMT"s,
                               "Sun, 06 Nov 1994 08:49:37 gmt"s,
                               "Sun, 06 Nov 1994 08:49:37 UTC"s,
                               "Sun, 06 Nov 1994 08:49:37 +0000"s,
                               "Sun, 6 Nov 1994 08:49:37 GMT"s,
                               "Sun, 06 Nov 94 08:49:37 GMT"s,
                               "Sun, 06 Nov 1994 8:49:37 GMT"s,
                               "Sun, 06 Nov 1994 08:49 GMT"s,
                               "Sun,  06 Nov 1994 08:49:37 GMT"s,
                               "Sun 06 Nov 1994 08:49:37 GMT"s,
                               " Sun, 06 Nov 1994 08:49:37 GMT"s,
                               "Sun, 06 Nov 1994 08:49:37 GMT "s,
                               "Sun, 06 Nov 1994 08:49:37 GMT\r\n"s,
                               "Sun, 06 Nov 1994 08:49:37 GMTX"s,
                               "Sun, 06-Nov-1994 08:49:37 GMT"s,
                               "Sunday, 06 Nov 1994 08:49:37 GMT"s,
                               "Sunday, 06-Nov-1994 08:49:37 GMT"s,
                               "Sun, 06-Nov-94 08:49:37 GMT"s,
                               "Sonntag, 06-Nov-94 08:49:37 GMT"s,
                               "sunday, 06-Nov-94 08:49:37 GMT"s,
                               "Sunday,06-Nov-94 08:49:37 GMT"s,
                               "Sunday, 06-Nov-94 08:49:37"s,
                               "Foo, 06 Nov 1994 08:49:37 GMT"s,
                               "Sun, 06 Foo 1994 08:49:37 GMT"s,
                               "Sun, +6 Nov 1994 08:49:37 GMT"s,
                               "Sun, 06 Nov -994 08:49:37 GMT"s,
                               "Sun, 06 Nov 1994 08:49:3x GMT"s,
                               "Sun, 06 Nov 1994 08-49-37 GMT"s,
                               "Sun, 06 Nov 1994\t08:49:37 GMT"s,
                               "Sun, 06 Nov 1994 08:49:37 GMT\0"s,
                               "Sun, 06 Nov 1994 08:49:\0\0 GMT"s,
                               "Sun, 06 Nov 1994 08:49:37\0GMT"s,
                               "Sun Nov  6 08:49:37 1994\0"s,
                               "1994-11-06T08:49:37Z"s,
                               std::string(100000, 'x'),
                               std::string(100000, ',')}) {
    EXPECT_FALSE(ParseHttpDate(v, kNow2025)) << v;
  }
}

TEST(HttpDate, EveryTruncationIsRejected) {
  for (const std::string_view full :
       {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994"}) {
    for (std::size_t n = 0; n < full.size(); ++n) {
      EXPECT_FALSE(ParseHttpDate(full.substr(0, n), kNow2025)) << full.substr(0, n);
      EXPECT_FALSE(ParseHttpDate(full.substr(n + 1), kNow2025)) << full.substr(n + 1);
    }
  }
}

// ---- Freshness lifetime (section 4.2.1) --------------------------------------------------------

TEST(FreshnessLifetime, SMaxageThenMaxAgeThenExpires) {
  http::HeaderList h;
  h.Add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.Add("Expires", "Sun, 06 Nov 1994 09:49:37 GMT");
  const WallTime rt = kRfcExample + 5s;
  EXPECT_EQ(FreshnessLifetime(Parse("s-maxage=10, max-age=20"), h, rt), 10s);
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=20"), h, rt), 20s);
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=0"), h, rt), 0s);
  EXPECT_EQ(FreshnessLifetime(Parse("s-maxage=0, max-age=20"), h, rt), 0s);
  EXPECT_EQ(FreshnessLifetime(Parse("public"), h, rt), 3600s);  // Expires - Date
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=99999999999"), h, rt), Seconds(kDeltaMax));
}

TEST(FreshnessLifetime, ExpiresWithoutDateUsesTheResponseTime) {
  http::HeaderList h;
  h.Add("Expires", "Sun, 06 Nov 1994 09:49:37 GMT");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), h, kRfcExample + 600s), 3000s);
  // A malformed Date counts as absent.
  http::HeaderList bad_date;
  bad_date.Add("Date", "yesterday");
  bad_date.Add("Expires", "Sun, 06 Nov 1994 09:49:37 GMT");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), bad_date, kRfcExample + 600s), 3000s);
  // Date and Expires in the obsolete forms.
  http::HeaderList obsolete;
  obsolete.Add("date", "Sunday, 06-Nov-94 08:49:37 GMT");
  obsolete.Add("expires", "Sun Nov  6 08:59:37 1994");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), obsolete, kNow2025), 600s);
}

TEST(FreshnessLifetime, PastOrMalformedExpiresIsAlreadyStale) {
  for (const char* expires : {"0", "-1", "", "never", "Sun, 06 Nov 1994 08:49:36 GMT",
                              "Sun, 06 Nov 1994 08:49:37 GMT", "Thu, 01 Jan 1970 00:00:00 GMT"}) {
    http::HeaderList h;
    h.Add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
    h.Add("Expires", expires);
    EXPECT_EQ(FreshnessLifetime(CacheControl(), h, kRfcExample), 0s) << expires;
  }
}

TEST(FreshnessLifetime, ConflictingExpiresFieldsAreStale) {
  http::HeaderList differ;
  differ.Add("Expires", "Sun, 06 Nov 1994 09:49:37 GMT");
  differ.Add("Expires", "Sun, 06 Nov 1994 10:49:37 GMT");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), differ, kRfcExample), 0s);
  http::HeaderList same;
  same.Add("Expires", "Sun, 06 Nov 1994 09:49:37 GMT");
  same.Add("EXPIRES", "Sunday, 06-Nov-94 09:49:37 GMT");  // the same instant, another form
  EXPECT_EQ(FreshnessLifetime(CacheControl(), same, kRfcExample), 3600s);
}

TEST(FreshnessLifetime, NoExplicitFreshnessOrInvalidIsZero) {
  http::HeaderList h;
  h.Add("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");  // no heuristics
  EXPECT_EQ(FreshnessLifetime(Parse("public"), h, kNow2025), 0s);
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=60, max-age=70"), h, kNow2025), 0s);
  EXPECT_EQ(FreshnessLifetime(Parse("max-age=abc"), h, kNow2025), 0s);
}

TEST(FreshnessLifetime, FarFutureExpiresClamps) {
  http::HeaderList h;
  h.Add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.Add("Expires", "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), h, kRfcExample), Seconds(kDeltaMax));
  http::HeaderList ancient_date;
  ancient_date.Add("Date", "Sat, 01 Jan 0000 00:00:00 GMT");
  ancient_date.Add("Expires", "Fri, 31 Dec 9999 23:59:59 GMT");
  EXPECT_EQ(FreshnessLifetime(CacheControl(), ancient_date, WallTime::min()), Seconds(kDeltaMax));
  EXPECT_EQ(FreshnessLifetime(CacheControl(), ancient_date, WallTime::max()), Seconds(kDeltaMax));
}

// ---- Age (section 4.2.3) -----------------------------------------------------------------------

TEST(FreshnessAge, TheRfcArithmetic) {
  // Request sent at 08:49:30, answered at 08:49:40 (response_delay 10); Date 08:49:37 (apparent
  // age 3); Age 60 from an upstream cache: corrected_age_value 70 > 3, so the initial age is 70.
  // 100 seconds later: resident_time 100, current_age 170.
  http::HeaderList h;
  h.Add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.Add("Age", "60");
  const WallTime request_time = kRfcExample - 7s;
  const WallTime response_time = kRfcExample + 3s;
  EXPECT_EQ(CurrentAge(h, request_time, response_time, response_time), 70s);
  EXPECT_EQ(CurrentAge(h, request_time, response_time, response_time + 100s), 170s);
}

TEST(FreshnessAge, ApparentAgeWinsWhenLarger) {
  // Date 08:49:37 but received at 08:50:37 after a 1 s round trip: apparent_age 60 > Age 5 + 1.
  http::HeaderList h;
  h.Add("Date", "Sun, 06 Nov 1994 08:49:37 GMT");
  h.Add("Age", "5");
  const WallTime response_time = kRfcExample + 60s;
  EXPECT_EQ(CurrentAge(h, response_time - 1s, response_time, response_time + 10s), 70s);
}

TEST(FreshnessAge, DateInTheFutureOrAbsent) {
  http::HeaderList future;
  future.Add("Date", "Sun, 06 Nov 1994 09:49:37 GMT");  // an hour ahead: apparent_age 0
  EXPECT_EQ(CurrentAge(future, kRfcExample - 2s, kRfcExample, kRfcExample + 30s), 32s);
  http::HeaderList none;  // Date absent: the response time, apparent_age 0
  EXPECT_EQ(CurrentAge(none, kRfcExample - 2s, kRfcExample, kRfcExample + 30s), 32s);
  http::HeaderList bad;
  bad.Add("Date", "Sun, 06 Nov 1994");
  EXPECT_EQ(CurrentAge(bad, kRfcExample, kRfcExample, kRfcExample), 0s);
}

TEST(FreshnessAge, MalformedOrHugeAge) {
  for (const char* age : {"-5", "abc", "1.5", "", "5, 10", "0x10", " "}) {
    http::HeaderList h;
    h.Add("Age", age);
    EXPECT_EQ(CurrentAge(h, kRfcExample, kRfcExample, kRfcExample + 1s), 1s) << age;
  }
  http::HeaderList huge;
  huge.Add("age", "99999999999999999999999");
  EXPECT_EQ(CurrentAge(huge, kRfcExample, kRfcExample, kRfcExample), Seconds(kDeltaMax));
  http::HeaderList zeros;
  zeros.Add("Age", "0042");
  EXPECT_EQ(CurrentAge(zeros, kRfcExample, kRfcExample, kRfcExample), 42s);
}

TEST(FreshnessAge, ClocksGoingBackwardsNeverMakeItNegative) {
  http::HeaderList h;
  // now before the response arrived, response before the request was sent.
  EXPECT_EQ(CurrentAge(h, kRfcExample + 10s, kRfcExample, kRfcExample - 100s), 0s);
  // WallTime's ends: no overflow, never negative.
  h.Add("Date", "Sat, 01 Jan 0000 00:00:00 GMT");
  h.Add("Age", "99999999999");
  EXPECT_GE(CurrentAge(h, WallTime::min(), WallTime::max(), WallTime::max()).count(), 0);
  EXPECT_GE(CurrentAge(h, WallTime::max(), WallTime::min(), WallTime::min()).count(), 0);
  EXPECT_GE(CurrentAge(h, WallTime::min(), WallTime::min(), WallTime::max()).count(), 0);
}

// ---- CanStore (sections 3, 3.5) ----------------------------------------------------------------

struct StoreCase {
  CacheControl request;
  CacheControl response;
  http::HeaderList headers;
  std::string_view method = "GET";
  int status = 200;
  bool authorization = false;

  Storability Ask() const {
    StoreQuestion q;
    q.method = method;
    q.status = status;
    q.request = &request;
    q.response = &response;
    q.response_headers = &headers;
    q.request_has_authorization = authorization;
    return CanStore(q);
  }
};

StoreCase Fresh(std::string_view response_cc = "max-age=60") {
  StoreCase e;
  e.response = Parse(response_cc);
  return e;
}

TEST(CanStore, AFreshGetIsStorable) {
  EXPECT_EQ(Fresh().Ask(), Storability::kStorable);
  EXPECT_EQ(Fresh("s-maxage=60").Ask(), Storability::kStorable);
  EXPECT_EQ(Fresh("no-cache, max-age=0").Ask(), Storability::kStorable);  // stored, revalidated
}

TEST(CanStore, OnlyGet) {
  for (const char* m : {"HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get", "GET ", ""}) {
    StoreCase e = Fresh();
    e.method = m;
    EXPECT_EQ(e.Ask(), Storability::kMethod) << m;
  }
}

TEST(CanStore, OnlyUnderstoodFinalStatuses) {
  for (int s : {200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501}) {
    StoreCase e = Fresh();
    e.status = s;
    EXPECT_EQ(e.Ask(), Storability::kStorable) << s;
  }
  for (int s : {0,   -1,  100, 101, 103, 201, 202, 206, 302, 303, 304,       307,
                400, 401, 403, 429, 500, 502, 503, 504, 599, 999, 2000000000}) {
    StoreCase e = Fresh();
    e.status = s;
    EXPECT_EQ(e.Ask(), Storability::kStatus) << s;
  }
}

TEST(CanStore, NoStoreInRequestOrResponse) {
  EXPECT_EQ(Fresh("max-age=60, no-store").Ask(), Storability::kNoStore);
  StoreCase e = Fresh();
  e.request = Parse("no-store");
  EXPECT_EQ(e.Ask(), Storability::kNoStore);
}

TEST(CanStore, Private) {
  EXPECT_EQ(Fresh("private, max-age=60").Ask(), Storability::kPrivate);
  EXPECT_EQ(Fresh("private=\"Set-Cookie\", max-age=60").Ask(), Storability::kPrivate);
  EXPECT_EQ(Fresh("public, private, max-age=60").Ask(), Storability::kPrivate);
}

TEST(CanStore, AuthorizationNeedsExplicitSharedPermission) {
  StoreCase e = Fresh("max-age=60");
  e.authorization = true;
  EXPECT_EQ(e.Ask(), Storability::kAuthorization);
  for (const char* cc : {"public, max-age=60", "s-maxage=60", "must-revalidate, max-age=60"}) {
    StoreCase ok = Fresh(cc);
    ok.authorization = true;
    EXPECT_EQ(ok.Ask(), Storability::kStorable) << cc;
  }
  StoreCase proxy = Fresh("proxy-revalidate, max-age=60");  // not one of the three
  proxy.authorization = true;
  EXPECT_EQ(proxy.Ask(), Storability::kAuthorization);
  StoreCase public_only = Fresh("public");  // allowed, but nothing to keep it fresh or validate
  public_only.authorization = true;
  EXPECT_EQ(public_only.Ask(), Storability::kNoLifetime);
}

TEST(CanStore, VaryStar) {
  StoreCase e = Fresh();
  e.headers.Add("Vary", "*");
  EXPECT_EQ(e.Ask(), Storability::kVaryStar);
  StoreCase listed = Fresh();
  listed.headers.Add("vary", "Accept-Encoding , *");
  EXPECT_EQ(listed.Ask(), Storability::kVaryStar);
  StoreCase second = Fresh();
  second.headers.Add("Vary", "Accept-Encoding");
  second.headers.Add("VARY", "*");
  EXPECT_EQ(second.Ask(), Storability::kVaryStar);
  StoreCase fine = Fresh();
  fine.headers.Add("Vary", "Accept-Encoding, Accept-Language");
  fine.headers.Add("X-Vary", "*");
  EXPECT_EQ(fine.Ask(), Storability::kStorable);
}

TEST(CanStore, InvalidCacheControl) {
  EXPECT_EQ(Fresh("max-age=60, max-age=120").Ask(), Storability::kInvalid);
  EXPECT_EQ(Fresh("max-age=-1").Ask(), Storability::kInvalid);
  EXPECT_EQ(Fresh("public; max-age=60").Ask(), Storability::kInvalid);
  StoreCase e = Fresh();
  e.request = Parse("max-age=abc");  // a malformed request field also keeps its answer out
  EXPECT_EQ(e.Ask(), Storability::kInvalid);
}

TEST(CanStore, NeedsExplicitFreshnessOrAValidator) {
  EXPECT_EQ(Fresh("").Ask(), Storability::kNoLifetime);
  EXPECT_EQ(Fresh("public").Ask(), Storability::kNoLifetime);
  EXPECT_EQ(Fresh("no-cache").Ask(), Storability::kNoLifetime);
  StoreCase etag = Fresh("");
  etag.headers.Add("ETag", "\"v1\"");
  EXPECT_EQ(etag.Ask(), Storability::kStorable);
  StoreCase lm = Fresh("no-cache");
  lm.headers.Add("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(lm.Ask(), Storability::kStorable);
  StoreCase expires = Fresh("");
  expires.headers.Add("Expires", "0");  // present (already stale) counts as explicit
  EXPECT_EQ(expires.Ask(), Storability::kStorable);
}

TEST(CanStore, MustUnderstand) {
  EXPECT_EQ(Fresh("must-understand, max-age=60").Ask(), Storability::kStorable);
  StoreCase partial = Fresh("must-understand, max-age=60");
  partial.status = 206;
  EXPECT_EQ(partial.Ask(), Storability::kStatus);
  // no-store still wins (section 5.2.2.3 lets a cache that understands the status ignore it;
  // this one does not).
  EXPECT_EQ(Fresh("must-understand, no-store, max-age=60").Ask(), Storability::kNoStore);
}

TEST(CanStore, CheckOrderAndNullPointers) {
  StoreCase e = Fresh("private, no-store");
  e.method = "POST";
  EXPECT_EQ(e.Ask(), Storability::kMethod);
  e.method = "GET";
  e.status = 500;
  EXPECT_EQ(e.Ask(), Storability::kStatus);
  e.status = 200;
  EXPECT_EQ(e.Ask(), Storability::kNoStore);

  StoreQuestion q;
  q.method = "GET";
  q.status = 200;
  EXPECT_EQ(CanStore(q), Storability::kNoLifetime);
  q.request_has_authorization = true;
  EXPECT_EQ(CanStore(q), Storability::kAuthorization);
}

}  // namespace
}  // namespace rampart::cache

namespace rampart::cache {
namespace {

TEST(FreshnessJitter, ShortensWithinTheShareAndNeverLengthens) {
  EXPECT_EQ(JitteredLifetime(Seconds(100), 10, 0.0), Seconds(100));
  EXPECT_EQ(JitteredLifetime(Seconds(100), 10, 0.5), Seconds(95));
  EXPECT_EQ(JitteredLifetime(Seconds(100), 10, 0.999), Seconds(91));
  EXPECT_EQ(JitteredLifetime(Seconds(100), 0, 0.9), Seconds(100));
  EXPECT_EQ(JitteredLifetime(Seconds(1), 50, 0.9), Seconds(1));
  EXPECT_EQ(JitteredLifetime(Seconds(0), 50, 0.9), Seconds(0));
  EXPECT_EQ(JitteredLifetime(Seconds(10), 500, 2.0), Seconds(1));  // clamped, never below 1 s
  // Spread: 1,000 entries stored together expire over the last 10% of their lifetime.
  std::int64_t lo = 1000, hi = 0;
  for (int i = 0; i < 1000; ++i) {
    const auto s = JitteredLifetime(Seconds(1000), 10, i / 1000.0).count();
    lo = std::min(lo, s);
    hi = std::max(hi, s);
  }
  EXPECT_EQ(hi, 1000);
  EXPECT_EQ(lo, 901);
}

}  // namespace
}  // namespace rampart::cache
