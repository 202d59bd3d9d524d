// @ipMatch and @ipMatchFromFile.
#include <gtest/gtest.h>

#include <string>

#include "gates/waf/operator.h"

namespace rampart::waf {
namespace {

using namespace std::string_literals;

const OperatorEnv& TestEnv() {
  static const OperatorEnv env{std::string(RAMPART_SOURCE_DIR) + "/src/gates/waf/testdata"};
  return env;
}

std::unique_ptr<Operator> Make(std::string_view name, std::string_view param) {
  std::string error;
  auto op = MakeOperator(name, param, TestEnv(), &error);
  EXPECT_NE(op, nullptr) << "@" << name << " " << param << ": " << error;
  return op;
}

bool M(const Operator& op, std::string_view value) { return op.Match(value, {}, nullptr); }

TEST(IpMatchTest, CrsLoopbackList) {
  auto op = Make("ipMatch", "127.0.0.1,::1");
  EXPECT_TRUE(M(*op, "127.0.0.1"));
  EXPECT_TRUE(M(*op, "::1"));
  EXPECT_TRUE(M(*op, "0:0:0:0:0:0:0:1"));
  EXPECT_FALSE(M(*op, "127.0.0.2"));
  EXPECT_FALSE(M(*op, "::2"));
  EXPECT_FALSE(M(*op, "localhost"));
  EXPECT_FALSE(M(*op, ""));
}

TEST(IpMatchTest, CidrBlocks) {
  auto op = Make("ipMatch", "10.0.0.0/8,192.168.1.128/25,2001:db8::/32,fe80::/10,0.0.0.0/32");
  EXPECT_TRUE(M(*op, "10.255.0.1"));
  EXPECT_FALSE(M(*op, "11.0.0.1"));
  EXPECT_TRUE(M(*op, "192.168.1.128"));
  EXPECT_TRUE(M(*op, "192.168.1.255"));
  EXPECT_FALSE(M(*op, "192.168.1.127"));
  EXPECT_TRUE(M(*op, "2001:db8:ffff::1"));
  EXPECT_TRUE(M(*op, "2001:DB8::"));
  EXPECT_FALSE(M(*op, "2001:db9::1"));
  EXPECT_TRUE(M(*op, "febf::1"));
  EXPECT_FALSE(M(*op, "fec0::1"));
  EXPECT_TRUE(M(*op, "0.0.0.0"));
}

TEST(IpMatchTest, HostBitsInAnEntryAreIgnored) {
  auto op = Make("ipMatch", "10.1.2.3/8, 2001:db8::1/64");
  EXPECT_TRUE(M(*op, "10.200.0.1"));
  EXPECT_TRUE(M(*op, "2001:db8::ffff"));
}

TEST(IpMatchTest, ZeroPrefixesCoverTheirFamilyOnly) {
  auto v4 = Make("ipMatch", "0.0.0.0/0");
  EXPECT_TRUE(M(*v4, "203.0.113.9"));
  EXPECT_FALSE(M(*v4, "2001:db8::1"));
  auto v6 = Make("ipMatch", "::/0");
  EXPECT_TRUE(M(*v6, "2001:db8::1"));
  EXPECT_FALSE(M(*v6, "203.0.113.9"));
}

TEST(IpMatchTest, Ipv4MappedIpv6AddressesMatchIpv4Entries) {
  auto op = Make("ipMatch", "10.0.0.0/8,127.0.0.1");
  EXPECT_TRUE(M(*op, "::ffff:10.1.2.3"));
  EXPECT_TRUE(M(*op, "::FFFF:127.0.0.1"));
  EXPECT_TRUE(M(*op, "::ffff:a01:203"));  // 10.1.2.3 in hex
  EXPECT_FALSE(M(*op, "::ffff:11.1.2.3"));
  // IPv4-compatible (deprecated ::a.b.c.d) and NAT64 forms are other addresses.
  EXPECT_FALSE(M(*op, "::10.1.2.3"));
  EXPECT_FALSE(M(*op, "64:ff9b::10.1.2.3"));
  // An entry written as a mapped address matches that IPv6 form.
  auto mapped = Make("ipMatch", "::ffff:192.0.2.0/120");
  EXPECT_TRUE(M(*mapped, "::ffff:192.0.2.77"));
}

TEST(IpMatchTest, MalformedValuesDoNotMatch) {
  auto op = Make("ipMatch", "0.0.0.0/0,::/0");
  for (const std::string& value :
       {"1.2.3"s, "1.2.3.4.5"s, "256.1.1.1"s, " 1.2.3.4"s, "1.2.3.4 "s, "1.2.3.4\0"s,
        "1.2.3.4\0junk"s, "01.2.3.4"s, "1.2.3.4/32"s, "fe80::1%eth0"s, "::1::2"s, "[::1]"s,
        std::string(100000, '1'), "1.2.3.4:80"s}) {
    EXPECT_FALSE(M(*op, value)) << value;
  }
  EXPECT_TRUE(M(*op, "1.2.3.4"));
  EXPECT_TRUE(M(*op, "::"));
}

TEST(IpMatchTest, MalformedEntriesAreRefused) {
  for (const char* bad :
       {"1.2.3.4/33", "::1/129", "1.2.3.4/", "1.2.3.4/abc", "1.2.3.4/8x", "1.2.3.4/255.0.0.0",
        "300.1.1.1", "example.com", "1.2.3.4,x", "10.0.0.0/-1"}) {
    std::string error;
    EXPECT_EQ(MakeOperator("ipMatch", bad, OperatorEnv{}, &error), nullptr) << bad;
    EXPECT_EQ(error.rfind("@ipMatch: ", 0), 0u) << error;
  }
}

TEST(IpMatchTest, EmptyListNeverMatches) {
  auto op = Make("ipMatch", "");
  EXPECT_FALSE(M(*op, "127.0.0.1"));
  auto commas = Make("ipMatch", ",,");
  EXPECT_FALSE(M(*commas, "::1"));
}

TEST(IpMatchFromFileTest, ReadsLinesWithCommentsAndCommaLists) {
  auto op = Make("ipMatchFromFile", "ips.data");
  EXPECT_TRUE(M(*op, "192.168.44.1"));
  EXPECT_TRUE(M(*op, "10.1.2.3"));
  EXPECT_FALSE(M(*op, "10.1.2.4"));
  EXPECT_TRUE(M(*op, "2001:db8::42"));
  EXPECT_TRUE(M(*op, "::1"));
  EXPECT_TRUE(M(*op, "203.0.113.7"));
  EXPECT_TRUE(M(*op, "198.51.100.200"));
  EXPECT_TRUE(M(*op, "::ffff:192.168.0.1"));
  EXPECT_FALSE(M(*op, "8.8.8.8"));
  EXPECT_TRUE(M(*Make("ipMatchF", "ips.data"), "10.1.2.3"));
}

TEST(IpMatchFromFileTest, ErrorsNameTheFileAndLine) {
  std::string error;
  EXPECT_EQ(MakeOperator("ipMatchFromFile", "ips-bad.data", TestEnv(), &error), nullptr);
  EXPECT_EQ(error, "@ipMatchFromFile: ips-bad.data:2: invalid IP address '10.0.0.300'");
  EXPECT_EQ(MakeOperator("ipMatchFromFile", "absent.data", TestEnv(), &error), nullptr);
  EXPECT_EQ(error, "@ipMatchFromFile: cannot read absent.data: No such file or directory");
}

}  // namespace
}  // namespace rampart::waf
