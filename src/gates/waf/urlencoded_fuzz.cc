// libFuzzer target: query strings and x-www-form-urlencoded bodies (ParseUrlEncoded). Checks the
// split against a count of separators and that decoding never grows the data.
#include <cstdint>
#include <string_view>
#include <vector>

#include "gates/waf/urlencoded.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (const char separator : {'&', ';'}) {
    std::vector<rampart::waf::Arg> args;
    int invalid = 0;
    rampart::waf::ParseUrlEncoded(text, separator, args, &invalid);
    std::size_t separators = 0;
    std::size_t percents = 0;
    for (const char c : text) {
      separators += c == separator;
      percents += c == '%';
    }
    // One argument per separator-delimited part, minus a single empty trailing part.
    const std::size_t expected = text.empty() ? 0 : separators + (text.back() == separator ? 0 : 1);
    if (args.size() != expected) __builtin_trap();
    std::size_t bytes = 0;
    for (const auto& a : args) bytes += a.name.size() + a.value.size();
    if (bytes > size) __builtin_trap();
    if (invalid < 0 || static_cast<std::size_t>(invalid) > percents) __builtin_trap();
  }
  int invalid = 0;
  if (rampart::waf::UrlDecodeForm(text, &invalid).size() > size) __builtin_trap();
  return 0;
}
