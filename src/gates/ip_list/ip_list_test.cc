#include "gates/ip_list/ip_list.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace rampart::ip_list {
namespace {

namespace ip = boost::asio::ip;

class IpListTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("ip_list_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) {
    const auto tmp = dir_ / (name + ".tmp");
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, dir_ / name);  // atomic, a new inode: seen as a change
  }
  bool Denies(const IpList& l, const char* a) { return l.Denies(ip::make_address(a)); }
  // Two checks: a change is loaded once it held still for one.
  static bool Settled(IpList& l) {
    const bool first = l.Refresh();
    return l.Refresh() || first;
  }
  std::filesystem::path dir_;
};

TEST_F(IpListTest, TheMostSpecificPrefixDecidesAndDenyWinsATie) {
  IpListSpec s;
  s.deny = {"10.0.0.0/8", "192.0.2.7", "2001:db8::/32"};
  s.allow = {"10.1.0.0/16", "192.0.2.7"};
  std::string error;
  auto l = IpList::Build("t", s, dir_, &error);
  ASSERT_TRUE(l) << error;
  EXPECT_TRUE(Denies(*l, "10.2.3.4"));
  EXPECT_FALSE(Denies(*l, "10.1.3.4"));
  EXPECT_TRUE(Denies(*l, "192.0.2.7"));  // in both: denied
  EXPECT_TRUE(Denies(*l, "2001:db8:1::5"));
  EXPECT_TRUE(Denies(*l, "::ffff:10.2.3.4"));  // mapped: as IPv4
  // Allow entries make the list a default-deny one.
  EXPECT_TRUE(Denies(*l, "198.51.100.1"));
}

TEST_F(IpListTest, ADenyOnlyListLetsTheRestThrough) {
  IpListSpec s;
  s.deny = {"203.0.113.0/24"};
  std::string error;
  auto l = IpList::Build("t", s, dir_, &error);
  ASSERT_TRUE(l);
  EXPECT_TRUE(Denies(*l, "203.0.113.99"));
  EXPECT_FALSE(Denies(*l, "203.0.114.1"));
  EXPECT_FALSE(Denies(*l, "::1"));
}

TEST_F(IpListTest, FilesAreReadAndABadLineIsNamed) {
  Write("feed.txt", "# a reputation feed\n198.51.100.0/24  # scanners\n\n2001:db8:bad::/48\n");
  IpListSpec s;
  s.deny_files = {"feed.txt"};
  std::string error;
  auto l = IpList::Build("t", s, dir_, &error);
  ASSERT_TRUE(l) << error;
  EXPECT_EQ(l->prefixes(), 2u);
  EXPECT_TRUE(Denies(*l, "198.51.100.200"));
  EXPECT_TRUE(Denies(*l, "2001:db8:bad::1"));
  Write("broken.txt", "198.51.100.0/24\nnot-an-address\n");
  s.deny_files = {"broken.txt"};
  EXPECT_FALSE(IpList::Build("t", s, dir_, &error));
  EXPECT_NE(error.find("broken.txt"), std::string::npos) << error;
  EXPECT_NE(error.find("line 2"), std::string::npos) << error;
  s.deny_files = {"missing.txt"};
  EXPECT_FALSE(IpList::Build("t", s, dir_, &error));
  EXPECT_NE(error.find("cannot read"), std::string::npos) << error;
}

TEST_F(IpListTest, AChangedFileIsSwappedInAndABrokenOneKeepsTheOldList) {
  Write("feed.txt", "198.51.100.0/24\n");
  IpListSpec s;
  s.deny_files = {"feed.txt"};
  std::string error;
  auto l = IpList::Build("t", s, dir_, &error);
  ASSERT_TRUE(l);
  EXPECT_FALSE(Settled(*l));  // unchanged
  Write("feed.txt", "203.0.113.0/24\n192.0.2.0/24\n");
  EXPECT_TRUE(Settled(*l));
  EXPECT_FALSE(Denies(*l, "198.51.100.1"));
  EXPECT_TRUE(Denies(*l, "203.0.113.1"));
  EXPECT_EQ(l->reloads_ok(), 1u);
  Write("feed.txt", "203.0.113.0/24\n192.0.2.0/33\n");
  EXPECT_FALSE(Settled(*l));
  EXPECT_TRUE(Denies(*l, "192.0.2.1"));  // the old list stands
  EXPECT_EQ(l->reloads_failed(), 1u);
  EXPECT_FALSE(Settled(*l));  // the same broken file is not counted again
  EXPECT_EQ(l->reloads_failed(), 1u);
  std::filesystem::remove(dir_ / "feed.txt");  // gone: refused too, old list stands
  EXPECT_FALSE(Settled(*l));
  EXPECT_EQ(l->reloads_failed(), 2u);
  EXPECT_TRUE(Denies(*l, "192.0.2.1"));
  Write("feed.txt", "192.0.2.0/24\n");
  EXPECT_TRUE(Settled(*l));
  EXPECT_FALSE(Denies(*l, "203.0.113.1"));
}

TEST_F(IpListTest, AChangeIsLoadedOnlyOnceItHeldStillForACheck) {
  Write("feed.txt", "198.51.100.0/24\n");
  IpListSpec s;
  s.deny_files = {"feed.txt"};
  std::string error;
  auto l = IpList::Build("t", s, dir_, &error);
  ASSERT_TRUE(l);
  Write("feed.txt", "10.0.0.0/1\n");  // as if caught half-written
  EXPECT_FALSE(l->Refresh());
  Write("feed.txt", "10.0.0.0/16\n");  // the writer finished
  EXPECT_FALSE(l->Refresh());          // changed again: wait once more
  EXPECT_TRUE(Denies(*l, "198.51.100.1"));
  EXPECT_TRUE(l->Refresh());
  EXPECT_TRUE(Denies(*l, "10.0.255.1"));
  EXPECT_FALSE(Denies(*l, "10.1.0.1"));
}

TEST_F(IpListTest, AWatchedListDropsOutWithItsSnapshot) {
  IpListSpec s;
  s.deny = {"192.0.2.0/24"};
  std::string error;
  auto l = IpList::Build("watched", s, dir_, &error);
  IpListWatch::Instance().Add(l);
  std::string out;
  IpListWatch::Instance().RenderMetrics(out);
  EXPECT_NE(out.find("rampart_ip_list_prefixes{list=\"watched\"} 1"), std::string::npos) << out;
  l.reset();
  IpListWatch::Instance().RefreshAll();
  out.clear();
  IpListWatch::Instance().RenderMetrics(out);
  EXPECT_EQ(out.find("list=\"watched\""), std::string::npos);
}

}  // namespace
}  // namespace rampart::ip_list
