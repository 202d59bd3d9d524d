#include "core/prefix_table.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {
namespace {

using boost::asio::ip::address;
using boost::asio::ip::make_address;
using Value = PrefixTable::Value;

constexpr std::optional<Value> kMiss = std::nullopt;

PrefixTable FromList(std::string_view text, Value v = 1) {
  PrefixTable::Builder b;
  std::string error;
  EXPECT_TRUE(b.AddListText(text, v, &error)) << error;
  return std::move(b).Build();
}

// Adds entries given as "cidr=value".
PrefixTable FromEntries(std::initializer_list<std::pair<std::string_view, Value>> entries) {
  PrefixTable::Builder b;
  for (const auto& [cidr, v] : entries) {
    std::string error;
    EXPECT_TRUE(b.AddText(cidr, v, &error)) << error;
  }
  return std::move(b).Build();
}

std::optional<Value> At(const PrefixTable& t, const char* text) {
  return t.Lookup(make_address(text));
}

TEST(PrefixTable, EmptyTableMatchesNothing) {
  const PrefixTable none;
  const PrefixTable built = PrefixTable::Builder().Build();
  for (const PrefixTable* t : {&none, &built}) {
    EXPECT_EQ(At(*t, "0.0.0.0"), kMiss);
    EXPECT_EQ(At(*t, "10.1.2.3"), kMiss);
    EXPECT_EQ(At(*t, "255.255.255.255"), kMiss);
    EXPECT_EQ(At(*t, "::"), kMiss);
    EXPECT_EQ(At(*t, "::ffff:10.1.2.3"), kMiss);
    EXPECT_EQ(At(*t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), kMiss);
    EXPECT_EQ(t->prefixes(), 0u);
    EXPECT_EQ(t->memory_bytes(), 0u);
  }
}

TEST(PrefixTable, NestedV4GivesMostSpecificAtEveryBoundary) {
  const PrefixTable t = FromEntries({{"10.0.0.0/8", 1}, {"10.1.0.0/16", 0}, {"10.1.2.3/32", 1}});
  EXPECT_EQ(t.prefixes(), 3u);
  EXPECT_EQ(At(t, "9.255.255.255"), kMiss);
  EXPECT_EQ(At(t, "10.0.0.0"), 1);
  EXPECT_EQ(At(t, "10.0.255.255"), 1);
  EXPECT_EQ(At(t, "10.1.0.0"), 0);
  EXPECT_EQ(At(t, "10.1.2.2"), 0);
  EXPECT_EQ(At(t, "10.1.2.3"), 1);
  EXPECT_EQ(At(t, "10.1.2.4"), 0);
  EXPECT_EQ(At(t, "10.1.255.255"), 0);
  EXPECT_EQ(At(t, "10.2.0.0"), 1);
  EXPECT_EQ(At(t, "10.255.255.255"), 1);
  EXPECT_EQ(At(t, "11.0.0.0"), kMiss);
  EXPECT_EQ(At(t, "0.0.0.0"), kMiss);
  EXPECT_EQ(At(t, "255.255.255.255"), kMiss);
}

TEST(PrefixTable, NestedV6GivesMostSpecificAtEveryBoundary) {
  const PrefixTable t = FromEntries({{"2001:db8::/32", 1},
                                     {"2001:db8:1::/48", 0},
                                     {"2001:db8:1::7/128", 1},
                                     {"2001:db8:1:0:8000::/65", 2}});
  EXPECT_EQ(At(t, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), kMiss);
  EXPECT_EQ(At(t, "2001:db8::"), 1);
  EXPECT_EQ(At(t, "2001:db8:0:ffff:ffff:ffff:ffff:ffff"), 1);
  EXPECT_EQ(At(t, "2001:db8:1::"), 0);
  EXPECT_EQ(At(t, "2001:db8:1::6"), 0);
  EXPECT_EQ(At(t, "2001:db8:1::7"), 1);
  EXPECT_EQ(At(t, "2001:db8:1::8"), 0);
  EXPECT_EQ(At(t, "2001:db8:1:0:7fff:ffff:ffff:ffff"), 0);
  EXPECT_EQ(At(t, "2001:db8:1:0:8000::"), 2);
  EXPECT_EQ(At(t, "2001:db8:1:0:ffff:ffff:ffff:ffff"), 2);
  EXPECT_EQ(At(t, "2001:db8:1:1::"), 0);
  EXPECT_EQ(At(t, "2001:db8:1:ffff:ffff:ffff:ffff:ffff"), 0);
  EXPECT_EQ(At(t, "2001:db8:2::"), 1);
  EXPECT_EQ(At(t, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
  EXPECT_EQ(At(t, "2001:db9::"), kMiss);
  EXPECT_EQ(At(t, "::"), kMiss);
}

TEST(PrefixTable, ZeroLengthV4CoversAllOfIpv4AndNothingElse) {
  const PrefixTable t = FromEntries({{"0.0.0.0/0", 3}, {"192.0.2.0/24", 4}});
  EXPECT_EQ(At(t, "0.0.0.0"), 3);
  EXPECT_EQ(At(t, "192.0.1.255"), 3);
  EXPECT_EQ(At(t, "192.0.2.0"), 4);
  EXPECT_EQ(At(t, "192.0.2.255"), 4);
  EXPECT_EQ(At(t, "192.0.3.0"), 3);
  EXPECT_EQ(At(t, "255.255.255.255"), 3);
  EXPECT_EQ(At(t, "::ffff:0.0.0.0"), 3);  // mapped: IPv4
  EXPECT_EQ(At(t, "::ffff:192.0.2.1"), 4);
  EXPECT_EQ(At(t, "::"), kMiss);
  EXPECT_EQ(At(t, "::c000:201"), kMiss);  // IPv4-compatible (::192.0.2.1) is IPv6
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), kMiss);
}

TEST(PrefixTable, ZeroLengthV6CoversAllOfIpv6AndNothingElse) {
  const PrefixTable t = FromEntries({{"::/0", 5}, {"::/1", 6}});
  EXPECT_EQ(At(t, "::"), 6);
  EXPECT_EQ(At(t, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 6);
  EXPECT_EQ(At(t, "8000::"), 5);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 5);
  EXPECT_EQ(At(t, "0.0.0.0"), kMiss);
  EXPECT_EQ(At(t, "255.255.255.255"), kMiss);
  EXPECT_EQ(At(t, "::ffff:1.2.3.4"), kMiss);  // looked up as IPv4
}

TEST(PrefixTable, SingleHostsAtTheEndsOfTheSpace) {
  const PrefixTable t = FromEntries({{"0.0.0.0/32", 1},
                                     {"255.255.255.255", 2},
                                     {"10.0.0.1/32", 3},
                                     {"::/128", 4},
                                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 5},
                                     {"::1", 6}});
  EXPECT_EQ(At(t, "0.0.0.0"), 1);
  EXPECT_EQ(At(t, "0.0.0.1"), kMiss);
  EXPECT_EQ(At(t, "255.255.255.254"), kMiss);
  EXPECT_EQ(At(t, "255.255.255.255"), 2);
  EXPECT_EQ(At(t, "10.0.0.0"), kMiss);
  EXPECT_EQ(At(t, "10.0.0.1"), 3);
  EXPECT_EQ(At(t, "10.0.0.2"), kMiss);
  EXPECT_EQ(At(t, "::"), 4);
  EXPECT_EQ(At(t, "::1"), 6);
  EXPECT_EQ(At(t, "::2"), kMiss);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), kMiss);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 5);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:fffe:ffff:ffff:ffff:ffff"), kMiss);
}

TEST(PrefixTable, WholeSpaceSplitIntoHalves) {
  // Ends of the space covered by prefixes that end at the last address, nested.
  const PrefixTable t = FromEntries({{"128.0.0.0/1", 1},
                                     {"255.0.0.0/8", 2},
                                     {"255.255.255.255/32", 3},
                                     {"8000::/1", 1},
                                     {"ffff::/16", 2},
                                     {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 3}});
  EXPECT_EQ(At(t, "127.255.255.255"), kMiss);
  EXPECT_EQ(At(t, "128.0.0.0"), 1);
  EXPECT_EQ(At(t, "254.255.255.255"), 1);
  EXPECT_EQ(At(t, "255.0.0.0"), 2);
  EXPECT_EQ(At(t, "255.255.255.254"), 2);
  EXPECT_EQ(At(t, "255.255.255.255"), 3);
  EXPECT_EQ(At(t, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), kMiss);
  EXPECT_EQ(At(t, "8000::"), 1);
  EXPECT_EQ(At(t, "fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
  EXPECT_EQ(At(t, "ffff::"), 2);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 2);
  EXPECT_EQ(At(t, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3);
}

TEST(PrefixTable, MappedAddressesAreLookedUpAsIpv4) {
  const PrefixTable t = FromEntries({{"192.0.2.0/24", 1}, {"::/0", 2}, {"::ffff:0:0/95", 3}});
  EXPECT_EQ(At(t, "::ffff:192.0.2.7"), 1);
  EXPECT_EQ(At(t, "::ffff:c000:2ff"), 1);
  EXPECT_EQ(At(t, "::ffff:192.0.3.0"), kMiss);  // neither ::/0 nor ::ffff:0:0/95
  EXPECT_EQ(At(t, "::fffe:192.0.3.0"), 3);      // just below the mapped range
  EXPECT_EQ(At(t, "::1:0:0:0"), 2);             // just above
  std::array<std::uint8_t, 16> bytes{};
  bytes[10] = bytes[11] = 0xff;
  bytes[12] = 192;
  bytes[15] = 0x2a;
  EXPECT_EQ(t.LookupV6(bytes), kMiss);  // 192.0.0.42
  bytes[14] = 2;
  EXPECT_EQ(t.LookupV6(bytes), 1);  // 192.0.2.42
  EXPECT_EQ(t.LookupV4(0xc000022a), 1);
}

TEST(PrefixTable, MappedPrefixesAreStoredAsIpv4) {
  const PrefixTable t = FromEntries({{"::ffff:10.0.0.0/104", 1}, {"::ffff:10.1.2.3", 2}});
  EXPECT_EQ(t.prefixes(), 2u);
  EXPECT_EQ(At(t, "10.200.0.1"), 1);
  EXPECT_EQ(At(t, "10.1.2.3"), 2);
  EXPECT_EQ(At(t, "::ffff:10.1.2.3"), 2);
  EXPECT_EQ(At(t, "11.0.0.0"), kMiss);
  const PrefixTable all = FromEntries({{"::ffff:0:0/96", 7}});
  EXPECT_EQ(At(all, "0.0.0.0"), 7);
  EXPECT_EQ(At(all, "255.255.255.255"), 7);
  EXPECT_EQ(At(all, "::"), kMiss);
  const auto n = PrefixTable::ParseNetwork("::ffff:10.1.2.3/100");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->is_v6);
  EXPECT_EQ(n->length, 4);
  EXPECT_EQ(n->bytes[0], 0);
  EXPECT_TRUE(n->had_host_bits);
}

TEST(PrefixTable, FamiliesNeverMatchEachOther) {
  // The same leading bits in the other family.
  const PrefixTable v4 = FromEntries({{"10.0.0.0/8", 1}, {"0.0.0.0/32", 2}});
  EXPECT_EQ(At(v4, "a00::"), kMiss);
  EXPECT_EQ(At(v4, "::a00:0"), kMiss);  // IPv4-compatible ::10.0.0.0
  EXPECT_EQ(At(v4, "::"), kMiss);
  const PrefixTable v6 = FromEntries({{"a00::/8", 1}, {"::/96", 2}, {"::/128", 3}});
  EXPECT_EQ(At(v6, "10.0.0.0"), kMiss);
  EXPECT_EQ(At(v6, "0.0.0.0"), kMiss);
  EXPECT_EQ(At(v6, "::a00:0"), 2);
}

TEST(PrefixTable, DuplicatesLastAddWins) {
  PrefixTable::Builder b;
  b.Add(make_address("10.0.0.0"), 8, 1);
  ASSERT_TRUE(b.AddText("10.0.0.0/8", 2, nullptr));
  ASSERT_TRUE(b.AddText("10.9.9.9/8", 3, nullptr));  // the same prefix, host bits set
  ASSERT_TRUE(b.AddText("10.0.0.0/9", 4, nullptr));
  ASSERT_TRUE(b.AddText("2001:db8::/32", 5, nullptr));
  ASSERT_TRUE(b.AddText("2001:db8:ffff::/32", 6, nullptr));
  ASSERT_TRUE(b.AddText("::ffff:10.0.0.0/104", 7, nullptr));  // = 10.0.0.0/8, the last one
  EXPECT_EQ(b.size(), 7u);
  const PrefixTable t = std::move(b).Build();
  EXPECT_EQ(t.prefixes(), 3u);
  EXPECT_EQ(At(t, "10.200.0.0"), 7);
  EXPECT_EQ(At(t, "10.0.0.0"), 4);
  EXPECT_EQ(At(t, "2001:db8::1"), 6);
}

TEST(PrefixTable, HostBitsAreIgnoredAndCounted) {
  PrefixTable::Builder b;
  ASSERT_TRUE(b.AddText("10.1.2.3/8", 1, nullptr));
  ASSERT_TRUE(b.AddText("2001:db8::1/32", 2, nullptr));
  ASSERT_TRUE(b.AddText("192.0.2.0/24", 3, nullptr));
  b.Add(make_address("172.16.5.4"), 12, 4);
  b.Add(make_address("2001:db9::"), 32, 5);
  EXPECT_EQ(b.with_host_bits(), 3u);
  const PrefixTable t = std::move(b).Build();
  EXPECT_EQ(At(t, "10.0.0.0"), 1);
  EXPECT_EQ(At(t, "10.255.255.255"), 1);
  EXPECT_EQ(At(t, "2001:db8::"), 2);
  EXPECT_EQ(At(t, "2001:db8:ffff::"), 2);
  EXPECT_EQ(At(t, "172.16.0.0"), 4);
  EXPECT_EQ(At(t, "172.31.255.255"), 4);
  EXPECT_EQ(At(t, "172.32.0.0"), kMiss);
  const auto n = PrefixTable::ParseNetwork("10.1.2.3/8");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->bytes[0], 10);
  EXPECT_EQ(n->bytes[1], 0);
  EXPECT_EQ(n->bytes[3], 0);
  EXPECT_TRUE(n->had_host_bits);
  EXPECT_FALSE(PrefixTable::ParseNetwork("10.0.0.0/8")->had_host_bits);
}

TEST(PrefixTable, AddOutOfRangeLengthAborts) {
  EXPECT_DEATH(PrefixTable::Builder().Add(make_address("10.0.0.0"), 33, 1), "");
  EXPECT_DEATH(PrefixTable::Builder().Add(make_address("10.0.0.0"), -1, 1), "");
  EXPECT_DEATH(PrefixTable::Builder().Add(make_address("::"), 129, 1), "");
}

// Whether inet_pton reads the address part the same way: the parser claims to match it.
bool InetPtonAgrees(std::string_view text) {
  const std::string address(text.substr(0, text.find('/')));
  if (address.find('\0') != std::string::npos) return true;  // inet_pton stops at a NUL
  std::uint8_t buf[16];
  const bool v6 = address.find(':') != std::string::npos;
  const bool ok = inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), buf) == 1;
  const auto n = PrefixTable::ParseNetwork(address);
  return ok == n.has_value();
}

TEST(PrefixTable, ParseNetworkAcceptsTheUsualForms) {
  struct Case {
    std::string_view text;
    bool is_v6;
    int length;
  };
  for (const Case& c :
       {Case{"10.0.0.0/8", false, 8}, Case{"192.0.2.7", false, 32}, Case{"0.0.0.0/0", false, 0},
        Case{"255.255.255.255/32", false, 32}, Case{"1.2.3.4/08", false, -1},
        Case{"2001:db8::/32", true, 32}, Case{"::1", true, 128}, Case{"::", true, 128},
        Case{"::/0", true, 0}, Case{"2001:DB8::ABCD/128", true, 128}, Case{"1::", true, 128},
        Case{"1:2:3:4:5:6:7:8", true, 128}, Case{"1:2:3:4:5:6:7::", true, 128},
        Case{"::2:3:4:5:6:7:8", true, 128}, Case{"0001:02::0003/64", true, 64},
        Case{"64:ff9b::192.0.2.33/120", true, 120}, Case{"1:2:3:4:5:6:1.2.3.4", true, 128}}) {
    const auto n = PrefixTable::ParseNetwork(c.text);
    EXPECT_TRUE(InetPtonAgrees(c.text)) << c.text;
    if (c.length < 0) {  // the documented refusal of leading zeros
      EXPECT_FALSE(n) << c.text;
      continue;
    }
    ASSERT_TRUE(n) << c.text;
    EXPECT_EQ(n->is_v6, c.is_v6) << c.text;
    EXPECT_EQ(n->length, c.length) << c.text;
  }
  const auto n = PrefixTable::ParseNetwork("64:ff9b::192.0.2.33");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->bytes[0], 0x00);
  EXPECT_EQ(n->bytes[1], 0x64);
  EXPECT_EQ(n->bytes[2], 0xff);
  EXPECT_EQ(n->bytes[3], 0x9b);
  EXPECT_EQ(n->bytes[12], 192);
  EXPECT_EQ(n->bytes[15], 33);
}

TEST(PrefixTable, ParseNetworkRefusesEverythingElse) {
  using namespace std::string_view_literals;
  const std::string_view kBad[] = {"10.0.0.0/33",
                                   "::/129",
                                   "1.2.3",
                                   "10.0.0.0/",
                                   "/8",
                                   "/",
                                   "",
                                   "abc",
                                   "10.0.0.0/8/8",
                                   " 10.0.0.0 / 8",
                                   " 10.0.0.0/8",
                                   "10.0.0.0/8 ",
                                   "10.0.0.0 /8",
                                   "10.0.0.0/ 8",
                                   "10.0.0.0/+8",
                                   "10.0.0.0/-8",
                                   "10.0.0.0/-0",
                                   "10.0.0.0/08",
                                   "10.0.0.0/00",
                                   "10.0.0.0/1000",
                                   "10.0.0.0/4294967304",
                                   "::/0128",
                                   "010.0.0.1",
                                   "10.0.0.01",
                                   "1.2.3.4.5",
                                   "1.2.3.256",
                                   "1.2.3.-1",
                                   "1..2.3",
                                   ".1.2.3",
                                   "1.2.3.",
                                   "0x0a.0.0.0",
                                   "10.0.0.0\t",
                                   "10.0.0.0\0"sv,
                                   "10.0.0.0#x",
                                   "1,2,3,4",
                                   "1.2.3.4a",
                                   "fe80::1%eth0",
                                   "fe80::1%1/64",
                                   "[::1]",
                                   "[::1]/128",
                                   ":",
                                   ":::",
                                   "1::2::3",
                                   ":1::",
                                   "1::2:",
                                   "1:",
                                   "::1:",
                                   "1:2:3:4:5:6:7:8:9",
                                   "1:2:3:4:5:6:7",
                                   "1:2:3:4:5:6::7:8:9",
                                   "1:2:3:4:5:6:7:8::",
                                   "::1:2:3:4:5:6:7:8",
                                   "12345::",
                                   "g::",
                                   "::1.2.3",
                                   "::1.2.3.4.5",
                                   "::1.2.3.4:5",
                                   "::01.2.3.4",
                                   "1:2:3:4:5:6:7:1.2.3.4",
                                   "::ffff:1.2.3.256",
                                   "1.2.3.4::",
                                   "::1 ",
                                   "::/-1",
                                   "::/+64",
                                   "2001:db8::/64/64"};
  for (std::string_view bad : kBad) {
    EXPECT_FALSE(PrefixTable::ParseNetwork(bad)) << bad;
    PrefixTable::Builder b;
    std::string error;
    EXPECT_FALSE(b.AddText(bad, 1, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_EQ(b.size(), 0u);
    if (bad.find('%') == std::string_view::npos) {
      EXPECT_TRUE(InetPtonAgrees(bad)) << bad;
    }
  }
}

TEST(PrefixTable, AddTextErrorQuotesTheText) {
  PrefixTable::Builder b;
  std::string error;
  EXPECT_FALSE(b.AddText("10.0.0.0/33", 1, &error));
  EXPECT_EQ(error, "'10.0.0.0/33' is not an address or CIDR");
  EXPECT_FALSE(b.AddText("abc", 1, nullptr));  // a null error is allowed
}

TEST(PrefixTable, ListTextSkipsCommentsBlanksAndSpaces) {
  const PrefixTable t = FromList(
      "# a feed\n"
      "\n"
      "   \t \r\n"
      "10.0.0.0/8\n"
      "  192.0.2.7   # one host\r\n"
      "\t2001:db8::/32\t\r\n"
      "198.51.100.0/24#no space before the comment\n"
      "# 203.0.113.0/24 commented out\n"
      "#\n"
      "::1",  // no newline at the end
      9);
  EXPECT_EQ(t.prefixes(), 5u);
  EXPECT_EQ(At(t, "10.1.1.1"), 9);
  EXPECT_EQ(At(t, "192.0.2.7"), 9);
  EXPECT_EQ(At(t, "192.0.2.8"), kMiss);
  EXPECT_EQ(At(t, "2001:db8::5"), 9);
  EXPECT_EQ(At(t, "198.51.100.200"), 9);
  EXPECT_EQ(At(t, "203.0.113.1"), kMiss);
  EXPECT_EQ(At(t, "::1"), 9);
  EXPECT_EQ(FromList("").prefixes(), 0u);
  EXPECT_EQ(FromList("\n\n# nothing\n").prefixes(), 0u);
  // Spamhaus DROP style: ';' comments, and a file saved with a UTF-8 byte-order mark.
  const PrefixTable drop = FromList(
      "\xEF\xBB\xBF; Spamhaus DROP List\n1.10.16.0/20 ; SBL256894\n2.56.192.0/22;SBL1\n", 4);
  EXPECT_EQ(drop.prefixes(), 2u);
  EXPECT_EQ(At(drop, "1.10.20.1"), 4);
  EXPECT_EQ(At(drop, "2.56.195.255"), 4);
}

TEST(PrefixTable, ListTextRefusesTheFirstBadLineWithItsNumber) {
  for (std::string_view bad : {"10.0.0.0/33", "::/129", "1.2.3", "10.0.0.0/", "/8", "abc",
                               "10.0.0.0/8/8", "10.0.0.0 / 8", "10.0.0.0/+8", "10.0.0.0/-8",
                               "1.2.3.4/08", "10.0.0.0 8", "10.0.0.0,10.0.0.1", "fe80::1%eth0"}) {
    PrefixTable::Builder b;
    ASSERT_TRUE(b.AddText("172.16.0.0/12", 2, nullptr));
    const std::string text = "# header\n10.0.0.0/8\r\n\n 2001:db8::/32\n  " + std::string(bad) +
                             "  # why\n192.0.2.0/24\nbad too\n";
    std::string error;
    EXPECT_FALSE(b.AddListText(text, 1, &error)) << bad;
    EXPECT_EQ(error, "line 5: '" + std::string(bad) + "' is not an address or CIDR");
    // Nothing from the refused text stays in the builder; what came before does.
    EXPECT_EQ(b.size(), 1u);
    const PrefixTable t = std::move(b).Build();
    EXPECT_EQ(t.prefixes(), 1u);
    EXPECT_EQ(At(t, "10.0.0.1"), kMiss);
    EXPECT_EQ(At(t, "172.16.0.1"), 2);
  }
}

TEST(PrefixTable, ListTextErrorIsBoundedAndPrintable) {
  PrefixTable::Builder b;
  std::string error;
  EXPECT_FALSE(b.AddListText("10.0.0.0/8\n\x1b[31m\xff'\\\n", 1, &error));
  EXPECT_EQ(error, "line 2: '\\x1b[31m\\xff'\\x5c' is not an address or CIDR");
  EXPECT_FALSE(b.AddListText(std::string(1000, 'a'), 1, &error));
  EXPECT_EQ(error, "line 1: '" + std::string(64, 'a') + "...' is not an address or CIDR");
  EXPECT_FALSE(b.AddListText("1.2.3.4\n\n\n\n\n\n\n\n\n\n1.2.3.4/33", 1, &error));
  EXPECT_EQ(error, "line 11: '1.2.3.4/33' is not an address or CIDR");
  EXPECT_FALSE(b.AddListText("1.2.3.4\r5.6.7.8", 1, &error));  // a lone CR is not a line end
  EXPECT_EQ(error, "line 1: '1.2.3.4\\x0d5.6.7.8' is not an address or CIDR");
  EXPECT_EQ(b.size(), 0u);
}

TEST(PrefixTable, MemoryAndCounts) {
  const PrefixTable t = FromList("10.0.0.0/8\n10.0.0.0/8\n2001:db8::/32\n");
  EXPECT_EQ(t.prefixes(), 2u);
  // The fixed IPv4 index (65,537 offsets) plus three intervals, and the IPv6 part.
  EXPECT_EQ(t.memory_bytes(), 65537u * 4 + 3 * 4 + 1025u * 4 + 3 * 16);
  // IPv6 alone: an index of 2^10 + 1 offsets at least, and three intervals of 16 bytes.
  const PrefixTable v6 = FromList("2001:db8::/32\n");
  EXPECT_EQ(v6.memory_bytes(), 1025u * 4 + 3 * 16);
}

TEST(PrefixTable, AdjacentPrefixesWithOneValueMerge) {
  PrefixTable::Builder b;
  for (int i = 0; i < 256; ++i) {
    b.Add(boost::asio::ip::address_v4(0x0a000000u | static_cast<std::uint32_t>(i) << 8), 24, 1);
  }
  ASSERT_TRUE(b.AddText("10.0.0.0/16", 1, nullptr));
  const PrefixTable t = std::move(b).Build();
  EXPECT_EQ(t.prefixes(), 257u);
  EXPECT_EQ(t.memory_bytes(), 65537u * 4 + 3 * 4);  // none, 10.0.0.0/16, none
  EXPECT_EQ(At(t, "10.0.255.255"), 1);
  EXPECT_EQ(At(t, "10.1.0.0"), kMiss);
}

TEST(PrefixTable, AdjacentPrefixesShareOneBoundary) {
  // Closing 10.0.0.0/24 and opening 10.0.1.0/24 happen at one address: one interval starts there.
  const PrefixTable t = FromEntries({{"10.0.0.0/24", 1}, {"10.0.1.0/24", 2}});
  EXPECT_EQ(t.memory_bytes(), 65537u * 4 + 4 * 4);  // none, 1, 2, none
  EXPECT_EQ(At(t, "10.0.0.255"), 1);
  EXPECT_EQ(At(t, "10.0.1.0"), 2);
  EXPECT_EQ(At(t, "10.0.2.0"), kMiss);
}

TEST(PrefixTable, BoundariesInsideOneSlash64) {
  // The search ties on the high half of the address; the low half decides.
  const PrefixTable first = FromEntries({{"2001:db8::/128", 1}});
  EXPECT_EQ(At(first, "2001:db8::"), 1);
  EXPECT_EQ(At(first, "2001:db8::1"), kMiss);
  EXPECT_EQ(At(first, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), kMiss);
  const PrefixTable second = FromEntries({{"2001:db8::1/128", 1}});
  EXPECT_EQ(At(second, "2001:db8::"), kMiss);
  EXPECT_EQ(At(second, "2001:db8::1"), 1);
  EXPECT_EQ(At(second, "2001:db8::2"), kMiss);
  const PrefixTable last = FromEntries({{"2001:db8::/64", 2},
                                        {"2001:db8::ffff:ffff:ffff:ffff/128", 3},
                                        {"2001:db8:0:1::/64", 4},
                                        {"2001:db8:0:1::/65", 5}});
  EXPECT_EQ(At(last, "2001:db8::"), 2);
  EXPECT_EQ(At(last, "2001:db8::5"), 2);
  EXPECT_EQ(At(last, "2001:db8::ffff:ffff:ffff:fffe"), 2);
  EXPECT_EQ(At(last, "2001:db8::ffff:ffff:ffff:ffff"), 3);
  EXPECT_EQ(At(last, "2001:db8:0:1::"), 5);
  EXPECT_EQ(At(last, "2001:db8:0:1:7fff:ffff:ffff:ffff"), 5);
  EXPECT_EQ(At(last, "2001:db8:0:1:8000::"), 4);
  EXPECT_EQ(At(last, "2001:db8:0:2::"), kMiss);
}

// ---- Randomized cross-check against a linear scan --------------------------------------------

struct RefPrefix {
  bool v6;
  std::array<std::uint8_t, 16> bytes;  // host bits cleared
  int length;
  Value value;
};

bool Contains(const RefPrefix& p, const std::array<std::uint8_t, 16>& a) {
  for (int i = 0; i < p.length; ++i) {
    const int byte = i / 8, bit = 7 - i % 8;
    if (((p.bytes[byte] >> bit) & 1) != ((a[byte] >> bit) & 1)) return false;
  }
  return true;
}

// The longest prefix of the address's family; among equal ones the last added.
std::optional<Value> NaiveLookup(const std::vector<RefPrefix>& prefixes, const address& addr) {
  bool v6 = addr.is_v6();
  std::array<std::uint8_t, 16> a{};
  if (v6 && addr.to_v6().is_v4_mapped()) {
    v6 = false;
    const auto b = addr.to_v6().to_bytes();
    std::copy(b.begin() + 12, b.end(), a.begin());
  } else if (v6) {
    a = addr.to_v6().to_bytes();
  } else {
    const auto b = addr.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), a.begin());
  }
  int best = -1;
  std::optional<Value> value;
  for (const RefPrefix& p : prefixes) {
    if (p.v6 == v6 && p.length >= best && Contains(p, a)) {
      best = p.length;
      value = p.value;
    }
  }
  return value;
}

address ToAddress(bool v6, const std::array<std::uint8_t, 16>& bytes) {
  if (v6) return boost::asio::ip::address_v6(bytes);
  return boost::asio::ip::address_v4({bytes[0], bytes[1], bytes[2], bytes[3]});
}

std::string ToText(const RefPrefix& p) {
  return ToAddress(p.v6, p.bytes).to_string() + "/" + std::to_string(p.length);
}

void ClearHostBits(RefPrefix& p) {
  for (int i = 0; i < 16; ++i) {
    const int kept = std::clamp(p.length - 8 * i, 0, 8);
    p.bytes[i] &= static_cast<std::uint8_t>(0xff00u >> kept);
  }
}

// `clustered` draws everything from a few small regions, so prefixes nest deeply, share the high
// half of IPv6 starts (ties in the search) and pile into few index buckets.
void CrossCheck(std::uint64_t seed, bool clustered) {
  std::mt19937_64 rng(seed);
  auto random_bytes = [&](bool v6) {
    std::array<std::uint8_t, 16> b{};
    for (int i = 0; i < (v6 ? 16 : 4); ++i) b[i] = static_cast<std::uint8_t>(rng());
    if (clustered) {  // 10.0.x.x and 2001:db8::/112 and fe80::/64's first /120
      if (v6) {
        const std::array<std::uint8_t, 16> base =
            rng() % 2 ? make_address("2001:db8::").to_v6().to_bytes()
                      : make_address("fe80::").to_v6().to_bytes();
        std::copy(base.begin(), base.begin() + 14, b.begin());
        if (base[0] == 0xfe) b[14] = 0;
      } else {
        b[0] = 10;
        b[1] = 0;
      }
    }
    if (v6 && rng() % 8 == 0) {  // keep a few IPv4-mapped prefixes coming (as IPv6 text)
      b = {};
      b[10] = b[11] = 0xff;
      for (int i = 12; i < 16; ++i) b[i] = static_cast<std::uint8_t>(rng());
    }
    return b;
  };

  std::vector<RefPrefix> prefixes;  // as the reference sees them: mapped ones turned to IPv4
  PrefixTable::Builder builder;
  while (prefixes.size() < 2000) {
    RefPrefix p;
    p.v6 = rng() % 10 < 3;
    p.value = static_cast<Value>(rng() % 4);
    if (!prefixes.empty() && rng() % 4 == 0) {
      // Inside, or equal to, an earlier prefix: nesting and duplicates.
      const RefPrefix& outer = prefixes[rng() % prefixes.size()];
      p.v6 = outer.v6;
      p.bytes = outer.bytes;
      const int width = p.v6 ? 128 : 32;
      p.length = outer.length + static_cast<int>(rng() % (width - outer.length + 1));
      for (int i = outer.length; i < p.length; ++i) {
        if (rng() % 2) p.bytes[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
      }
    } else {
      p.bytes = random_bytes(p.v6);
      const int width = p.v6 ? 128 : 32;
      p.length = static_cast<int>(rng() % (width + 1));
      if (clustered) p.length = std::max(p.length, p.v6 ? 104 : 16);
    }
    const bool host_bits = rng() % 8 == 0;
    RefPrefix stored = p;
    ClearHostBits(stored);
    const std::string text = ToText(host_bits ? p : stored);
    std::string error;
    ASSERT_TRUE(builder.AddText(text, p.value, &error)) << error;
    if (stored.v6 && stored.length >= 96 && ToAddress(true, stored.bytes).to_v6().is_v4_mapped()) {
      std::array<std::uint8_t, 16> v4{};
      std::copy(stored.bytes.begin() + 12, stored.bytes.end(), v4.begin());
      stored = {false, v4, stored.length - 96, stored.value};
    }
    prefixes.push_back(stored);
  }
  const PrefixTable table = std::move(builder).Build();

  auto check = [&](const address& a) {
    ASSERT_EQ(table.Lookup(a), NaiveLookup(prefixes, a)) << a.to_string();
  };
  for (int i = 0; i < 10000; ++i) {
    const RefPrefix& p = prefixes[rng() % prefixes.size()];
    const int width = p.v6 ? 128 : 32;
    std::array<std::uint8_t, 16> b = p.bytes;
    switch (rng() % 5) {
      case 0:  // a random address of the family (or of the clusters)
        b = random_bytes(p.v6);
        break;
      case 1:  // the first address of a prefix
        break;
      case 2:  // the last address
        for (int bit = p.length; bit < width; ++bit) b[bit / 8] |= 0x80 >> (bit % 8);
        break;
      case 3:  // one before the first
        for (int byte = width / 8 - 1; byte >= 0 && b[byte]-- == 0; --byte) {
        }
        break;
      case 4:  // one after the last
        for (int bit = p.length; bit < width; ++bit) b[bit / 8] |= 0x80 >> (bit % 8);
        for (int byte = width / 8 - 1; byte >= 0 && ++b[byte] == 0; --byte) {
        }
        break;
    }
    check(ToAddress(p.v6, b));
    if (!p.v6) {  // and the same as IPv4-mapped IPv6
      std::array<std::uint8_t, 16> mapped{};
      mapped[10] = mapped[11] = 0xff;
      std::copy(b.begin(), b.begin() + 4, mapped.begin() + 12);
      check(ToAddress(true, mapped));
    }
  }
}

TEST(PrefixTable, RandomLookupsMatchALinearScan) { CrossCheck(20240601, false); }

TEST(PrefixTable, ClusteredRandomLookupsMatchALinearScan) { CrossCheck(7, true); }

TEST(PrefixTable, ManyTablesOfRandomSizes) {
  // Small tables change the IPv6 index width; every size from 1 to a few hundred prefixes.
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    std::mt19937_64 rng(seed);
    PrefixTable::Builder b;
    std::vector<RefPrefix> prefixes;
    const std::size_t n = 1 + rng() % (seed * 10);
    for (std::size_t i = 0; i < n; ++i) {
      RefPrefix p{rng() % 2 == 0, {}, 0, static_cast<Value>(rng())};
      for (auto& byte : p.bytes) byte = static_cast<std::uint8_t>(rng());
      if (!p.v6) std::fill(p.bytes.begin() + 4, p.bytes.end(), 0);
      p.length = static_cast<int>(rng() % ((p.v6 ? 128 : 32) + 1));
      ClearHostBits(p);
      b.Add(ToAddress(p.v6, p.bytes), p.length, p.value);
      prefixes.push_back(p);
    }
    const PrefixTable t = std::move(b).Build();
    for (int i = 0; i < 500; ++i) {
      const RefPrefix& p = prefixes[rng() % prefixes.size()];
      std::array<std::uint8_t, 16> a = p.bytes;
      for (int bit = p.length + static_cast<int>(rng() % 3); bit < (p.v6 ? 128 : 32); ++bit) {
        if (rng() % 2) a[bit / 8] ^= 0x80 >> (bit % 8);
      }
      const address addr = ToAddress(p.v6, a);
      ASSERT_EQ(t.Lookup(addr), NaiveLookup(prefixes, addr)) << addr.to_string();
    }
  }
}

}  // namespace
}  // namespace rampart
