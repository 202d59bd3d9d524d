// One named value the WAF rules inspect (an ARGS / ARGS_GET / ARGS_POST entry, a
// MULTIPART_PART_HEADERS entry, ...). Names and values are raw bytes: they may hold NUL and
// invalid UTF-8, exactly as the request sent them (after the body processor's decoding).
#pragma once

#include <string>

namespace rampart::waf {

struct Arg {
  std::string name;
  std::string value;

  friend bool operator==(const Arg&, const Arg&) = default;
};

}  // namespace rampart::waf
