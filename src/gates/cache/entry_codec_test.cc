// The cache entry's wire form: a full entry round-trips, and what another instance's store
// hands back is refused when it is cut short, padded, of another version, or claims more bytes
// than it holds.
#include "gates/cache/entry_codec.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace rampart::cache {
namespace {

using std::chrono::microseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

CachedResponse Full() {
  CachedResponse e;
  e.status = 203;
  for (int i = 0; i < 40; ++i) {
    e.headers.emplace_back("x-field-" + std::to_string(i), "value\t" + std::to_string(i * 997));
  }
  e.headers.emplace_back("ETag", "\"\xc3\xa9t\xff\"");  // obs-text is allowed in a value
  e.headers.emplace_back("x-empty", "");
  e.body.assign("\0\r\n\xff\x80 binary", 12);
  for (int i = 0; i < 1000; ++i) e.body.push_back(static_cast<char>(i * 31));
  e.request_time = system_clock::time_point(microseconds(1'735'689'600'123'456));
  e.response_time = e.request_time + microseconds(2'500);
  e.lifetime = seconds(3600);
  e.stale_while_revalidate = seconds(60);
  e.stale_if_error = seconds(std::int64_t{1} << 31);
  e.vary_names = {"accept-encoding", "x-tenant", "accept-language"};
  e.vary_values = "gzip\nacme\n";
  e.tags = {"orders", "orders:42", "\xff\n raw"};
  return e;
}

std::string Encode(const CachedResponse& e) {
  std::string out;
  EncodeEntry(e, out);
  return out;
}

bool Decodes(std::string_view in) {
  CachedResponse e;
  return DecodeEntry(in, e);
}

TEST(EntryCodec, AFullEntryRoundTrips) {
  const CachedResponse e = Full();
  std::string out = "prefix";  // appended to what is there
  EncodeEntry(e, out);
  ASSERT_EQ(out.substr(0, 6), "prefix");
  CachedResponse back;
  ASSERT_TRUE(DecodeEntry(std::string_view(out).substr(6), back));
  EXPECT_EQ(back.status, e.status);
  EXPECT_EQ(back.headers, e.headers);
  EXPECT_EQ(back.body, e.body);
  EXPECT_EQ(back.request_time, e.request_time);
  EXPECT_EQ(back.response_time, e.response_time);
  EXPECT_EQ(back.lifetime, e.lifetime);
  EXPECT_EQ(back.stale_while_revalidate, e.stale_while_revalidate);
  EXPECT_EQ(back.stale_if_error, e.stale_if_error);
  EXPECT_EQ(back.vary_names, e.vary_names);
  EXPECT_EQ(back.vary_values, e.vary_values);
  EXPECT_EQ(back.tags, e.tags);
  EXPECT_EQ(back.Charge(10), e.Charge(10));
}

TEST(EntryCodec, AnEmptyEntryAndTheTimesEndsRoundTrip) {
  CachedResponse e;
  CachedResponse back;
  ASSERT_TRUE(DecodeEntry(Encode(e), back));
  EXPECT_EQ(back, e);
  // Whole microseconds at the ends of what the clock holds, and before the epoch.
  const system_clock::time_point ends[] = {
      system_clock::time_point(microseconds(-1)),
      std::chrono::floor<microseconds>(system_clock::time_point::max()),
      std::chrono::ceil<microseconds>(system_clock::time_point::min())};
  for (const auto t : ends) {
    e.request_time = e.response_time = t;
    ASSERT_TRUE(DecodeEntry(Encode(e), back));
    EXPECT_EQ(back, e);
  }
}

TEST(EntryCodec, TimesKeepWholeMicroseconds) {
  CachedResponse e;
  e.request_time = system_clock::time_point(microseconds(5)) + std::chrono::nanoseconds(999);
  CachedResponse back;
  ASSERT_TRUE(DecodeEntry(Encode(e), back));
  EXPECT_EQ(back.request_time, system_clock::time_point(microseconds(5)));
}

TEST(EntryCodec, EveryTruncationIsRefused) {
  const std::string full = Encode(Full());
  for (std::size_t n = 0; n < full.size(); ++n) {
    ASSERT_FALSE(Decodes(std::string_view(full).substr(0, n))) << n;
  }
  EXPECT_TRUE(Decodes(full));
}

TEST(EntryCodec, TrailingBytesAreRefused) {
  EXPECT_FALSE(Decodes(Encode(Full()) + '\0'));
  EXPECT_FALSE(Decodes(Encode(CachedResponse{}) + 'x'));
}

TEST(EntryCodec, AnotherVersionIsRefused) {
  std::string in = Encode(Full());
  for (const char v : {'\0', '\x02', '\xff'}) {
    in[0] = v;
    EXPECT_FALSE(Decodes(in));
  }
}

TEST(EntryCodec, AHugeDeclaredLengthIsRefusedWithoutAllocating) {
  CachedResponse e;
  e.body = "abc";
  std::string in = Encode(e);
  ASSERT_EQ(in.substr(in.size() - 4), std::string("\x03"
                                                  "abc",
                                                  4));  // the body's length
  in.resize(in.size() - 4);
  // 2^63 bytes claimed: a decoder that reserved it would throw or die here.
  in.append(
      "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"
      "abc",
      13);
  EXPECT_FALSE(Decodes(in));
  // A count of 2^40 headers, each claiming nothing in particular.
  std::string counts = Encode(CachedResponse{});
  const std::size_t at = 1 + 2 + 8 + 8 + 3;  // version, status, times, durations
  ASSERT_EQ(counts[at], '\0');               // no headers
  counts.replace(at, 1, "\x80\x80\x80\x80\x80\x20", 6);
  EXPECT_FALSE(Decodes(counts));
}

TEST(EntryCodec, OnlyShortestVarintsAndBoundedFieldsDecode) {
  const std::string good = Encode(CachedResponse{});
  const std::size_t at = 1 + 2 + 8 + 8 + 3;
  ASSERT_TRUE(Decodes(good));
  std::string longer = good;
  longer.replace(at, 1, "\x80\x00", 2);  // zero headers, spelled in two bytes
  EXPECT_FALSE(Decodes(longer));
  // Durations beyond 2^31 seconds, statuses outside 100..999, times the clock cannot hold.
  CachedResponse e;
  e.lifetime = seconds((std::int64_t{1} << 31) + 1);
  EXPECT_FALSE(Decodes(Encode(e)));
  e = CachedResponse{};
  e.stale_if_error = seconds(-1);
  EXPECT_FALSE(Decodes(Encode(e)));
  for (const int status : {0, 99, 1000}) {
    e = CachedResponse{};
    e.status = status;
    EXPECT_FALSE(Decodes(Encode(e))) << status;
  }
  std::string far = good;
  far.replace(3, 8, "\xff\xff\xff\xff\xff\xff\xff\x7f", 8);  // request_time: INT64_MAX us
  EXPECT_FALSE(Decodes(far));
}

TEST(EntryCodec, FieldsThatWouldSplitAHitsHeadAreRefused) {
  const std::vector<std::pair<std::string, std::string>> bad = {{"x-a", "1\r\nSet-Cookie: a=b"},
                                                                {"x-a", std::string("a\0b", 3)},
                                                                {"x-a", "\x7f"},
                                                                {"x a", "1"},
                                                                {"x:a", "1"},
                                                                {"", "1"}};
  for (const auto& [name, value] : bad) {
    CachedResponse e;
    e.headers.emplace_back(name, value);
    EXPECT_FALSE(Decodes(Encode(e))) << name;
  }
  CachedResponse e;
  e.vary_names = {"accept encoding"};
  EXPECT_FALSE(Decodes(Encode(e)));
}

TEST(EntryCodec, AFailedDecodeLeavesTheOutputAlone) {
  CachedResponse out = Full();
  std::string in = Encode(CachedResponse{});
  in.push_back('x');
  EXPECT_FALSE(DecodeEntry(in, out));
  EXPECT_EQ(out, Full());
}

}  // namespace
}  // namespace rampart::cache
