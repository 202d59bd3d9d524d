#include "http/range_header.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::http {
namespace {

TEST(RangeHeader, OrdinaryRangesAreFine) {
  EXPECT_EQ(JudgeRange("bytes=0-499", 16), RangeVerdict::kFine);
  EXPECT_EQ(JudgeRange("bytes=0-99, 200-299, -50", 16), RangeVerdict::kFine);
  EXPECT_EQ(JudgeRange("bytes=500-", 16), RangeVerdict::kFine);
  EXPECT_EQ(JudgeRange("bytes=0-99,100-199", 16), RangeVerdict::kFine);  // adjacent, not shared
  EXPECT_EQ(JudgeRange("items=0-5,0-5", 16), RangeVerdict::kFine);       // another unit
  EXPECT_EQ(JudgeRange("garbage", 16), RangeVerdict::kFine);             // the origin ignores it
  EXPECT_EQ(JudgeRange("bytes=0-1,,2-3", 16), RangeVerdict::kFine);      // empty list element
}

TEST(RangeHeader, MoreRangesThanAllowedAreTooMany) {
  std::string v = "bytes=";
  for (int i = 0; i < 17; ++i) v += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 5) + ",";
  EXPECT_EQ(JudgeRange(v, 16), RangeVerdict::kTooMany);
  EXPECT_EQ(JudgeRange(v, 17), RangeVerdict::kFine);
  // Limits above 64 count as 64, so every range kept is also judged for overlap.
  std::string many = "bytes=";
  for (int i = 0; i < 70; ++i)
    many += std::to_string(i * 10) + "-" + std::to_string(i * 10 + 5) + ",";
  EXPECT_EQ(JudgeRange(many, 1000), RangeVerdict::kTooMany);
  // The attack the issue names: thousands of ranges in 20 KB.
  std::string flood = "bytes=";
  for (int i = 0; i < 3000; ++i) flood += std::to_string(2 * i) + "-" + std::to_string(2 * i) + ",";
  EXPECT_GT(flood.size(), 20000u);
  EXPECT_EQ(JudgeRange(flood, 16), RangeVerdict::kTooMany);
  // The same count of one range repeated is refused too, as soon as two overlap.
  std::string same = "bytes=";
  for (int i = 0; i < 3000; ++i) same += "0-,";
  EXPECT_EQ(JudgeRange(same, 16), RangeVerdict::kOverlapping);
  EXPECT_EQ(JudgeRange(" BYTES = 1-2, 3-4, 5-6", 2), RangeVerdict::kTooMany);  // case, spaces
}

TEST(RangeHeader, OverlapsThatDoNotDependOnTheLengthAreFound) {
  EXPECT_EQ(JudgeRange("bytes=0-99, 50-149", 16), RangeVerdict::kOverlapping);
  EXPECT_EQ(JudgeRange("bytes=200-299, 0-99, 250-260", 16), RangeVerdict::kOverlapping);
  EXPECT_EQ(JudgeRange("bytes=0-0, 0-0", 16), RangeVerdict::kOverlapping);
  EXPECT_EQ(JudgeRange("bytes=100-, 150-200", 16), RangeVerdict::kOverlapping);
  EXPECT_EQ(JudgeRange("bytes=-100, -200", 16), RangeVerdict::kOverlapping);  // both reach the end
  EXPECT_EQ(JudgeRange("bytes=500-, -10", 16), RangeVerdict::kOverlapping);
  // A suffix against a closed range depends on the length: not judged.
  EXPECT_EQ(JudgeRange("bytes=0-99, -100", 16), RangeVerdict::kFine);
}

TEST(RangeHeader, NumbersThatDoNotParseAreNotRanges) {
  EXPECT_EQ(JudgeRange("bytes=99999999999999999999999-1, 0-5", 16), RangeVerdict::kFine);
  EXPECT_EQ(JudgeRange("bytes=10-5, 0-20", 16), RangeVerdict::kFine);  // 10-5 is invalid
  EXPECT_EQ(JudgeRange("bytes=a-b, c-", 16), RangeVerdict::kFine);
}

}  // namespace
}  // namespace rampart::http
