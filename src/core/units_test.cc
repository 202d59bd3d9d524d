#include "core/units.h"

#include <gtest/gtest.h>

#include "core/cidr.h"
#include "core/request_id.h"

namespace rampart {
namespace {

using namespace std::chrono_literals;

TEST(Units, Durations) {
  EXPECT_EQ(ParseDuration("250ms"), std::chrono::microseconds(250ms));
  EXPECT_EQ(ParseDuration("10s"), std::chrono::microseconds(10s));
  EXPECT_EQ(ParseDuration("1.5s"), std::chrono::microseconds(1500ms));
  EXPECT_EQ(ParseDuration("5m"), std::chrono::microseconds(5min));
  EXPECT_EQ(ParseDuration("2h"), std::chrono::microseconds(2h));
  EXPECT_EQ(ParseDuration("100us"), std::chrono::microseconds(100));
  EXPECT_FALSE(ParseDuration("10"));
  EXPECT_FALSE(ParseDuration("s"));
  EXPECT_FALSE(ParseDuration("-1s"));
  EXPECT_FALSE(ParseDuration("10 s"));
  EXPECT_FALSE(ParseDuration("10sec"));
  EXPECT_EQ(FormatDuration(1500ms), "1500ms");
  EXPECT_EQ(FormatDuration(2s), "2s");
}

TEST(Units, Sizes) {
  EXPECT_EQ(ParseSize("64KiB"), 65536u);
  EXPECT_EQ(ParseSize("10MiB"), 10u * 1024 * 1024);
  EXPECT_EQ(ParseSize("1GiB"), 1024u * 1024 * 1024);
  EXPECT_EQ(ParseSize("1500"), 1500u);
  EXPECT_EQ(ParseSize("512B"), 512u);
  EXPECT_EQ(ParseSize("16KB"), 16000u);
  EXPECT_FALSE(ParseSize("1.5B"));
  EXPECT_FALSE(ParseSize("10kib"));
  EXPECT_FALSE(ParseSize(""));
}

TEST(Units, Rates) {
  EXPECT_EQ(ParseRate("100/s"), (Rate{100, 1s}));
  EXPECT_EQ(ParseRate("10000/day"), (Rate{10000, 24h}));
  EXPECT_EQ(ParseRate("20/m"), (Rate{20, 1min}));
  EXPECT_FALSE(ParseRate("0/s"));
  EXPECT_FALSE(ParseRate("100"));
  EXPECT_FALSE(ParseRate("100/week"));
}

TEST(Cidr, Matches) {
  auto net = Cidr::Parse("10.0.0.0/8");
  ASSERT_TRUE(net);
  EXPECT_TRUE(net->Contains(boost::asio::ip::make_address("10.1.2.3")));
  EXPECT_FALSE(net->Contains(boost::asio::ip::make_address("11.1.2.3")));
  EXPECT_TRUE(net->Contains(boost::asio::ip::make_address("::ffff:10.9.9.9")));
  auto v6 = Cidr::Parse("2001:db8::/32");
  ASSERT_TRUE(v6);
  EXPECT_TRUE(v6->Contains(boost::asio::ip::make_address("2001:db8::1")));
  EXPECT_FALSE(v6->Contains(boost::asio::ip::make_address("2001:db9::1")));
  auto host = Cidr::Parse("127.0.0.1");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->ToString(), "127.0.0.1/32");
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::Parse("nope"));
  for (const char* bad :
       {"10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/", "10.0.0.0/ 8", "10.0.0.0/0008"})
    EXPECT_FALSE(Cidr::Parse(bad)) << bad;
  auto odd = Cidr::Parse("192.168.0.0/23");
  EXPECT_TRUE(odd->Contains(boost::asio::ip::make_address("192.168.1.200")));
  EXPECT_FALSE(odd->Contains(boost::asio::ip::make_address("192.168.2.1")));
}

TEST(RequestId, FormatAndUniqueness) {
  auto a = NewRequestId();
  auto b = NewRequestId();
  EXPECT_NE(a.view(), b.view());
  EXPECT_EQ(a.view()[14], '4');
  EXPECT_EQ(a.view()[8], '-');
  EXPECT_TRUE(IsAcceptableRequestId(a.view()));
  EXPECT_FALSE(IsAcceptableRequestId("bad id"));
  EXPECT_FALSE(IsAcceptableRequestId(""));
  EXPECT_FALSE(IsAcceptableRequestId(std::string(129, 'a')));
}

}  // namespace
}  // namespace rampart
