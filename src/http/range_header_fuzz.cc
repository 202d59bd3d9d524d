// libFuzzer target: arbitrary bytes as a Range field's value. The judgement never reads out of
// bounds, and it is monotonic in the limit: a value fine under a limit is fine under a larger
// one, and a value is never refused as too many under a limit of at least its count of list
// elements (limits go up to kMaxJudgedRanges).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/range_header.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using rampart::http::JudgeRange;
  using rampart::http::RangeVerdict;
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const RangeVerdict at16 = JudgeRange(value, 16);
  if (at16 == RangeVerdict::kFine) Check(JudgeRange(value, 1000) == RangeVerdict::kFine);
  std::uint32_t elements = 1;
  for (char c : value) elements += c == ',' ? 1 : 0;
  if (elements <= rampart::http::kMaxJudgedRanges) {
    Check(JudgeRange(value, elements) != RangeVerdict::kTooMany);
  }
  return 0;
}
