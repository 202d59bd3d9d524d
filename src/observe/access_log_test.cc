#include "observe/access_log.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

namespace rampart::observe {
namespace {

std::size_t CountLines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

TEST(AccessLog, EveryLineIsWrittenOrCountedAsDropped) {
  config::AccessLog cfg;
  cfg.path = ::testing::TempDir() + "access_log_test.log";
  std::remove(cfg.path.c_str());
  std::string error;
  auto log = AccessLog::Open(cfg, &error);
  ASSERT_TRUE(log) << error;
  const std::size_t dropped_before = log->dropped();
  constexpr std::size_t kLines = 50000;  // more than the queue holds: some may be dropped
  for (std::size_t i = 0; i < kLines; ++i) log->Write("{\"n\":" + std::to_string(i) + "}");
  // The writer thread drains the queue; wait for it (bounded), not for a fixed time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  std::size_t written = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    written = CountLines(cfg.path);
    if (written + (log->dropped() - dropped_before) >= kLines) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(written + (log->dropped() - dropped_before), kLines);
}

TEST(AccessLog, UnopenableFileIsAnError) {
  config::AccessLog cfg;
  cfg.path = "/proc/rampart-cannot-create/access.log";
  std::string error;
  EXPECT_FALSE(AccessLog::Open(cfg, &error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace rampart::observe
