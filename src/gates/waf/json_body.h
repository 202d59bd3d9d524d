// application/json request bodies flattened into ARGS the way ModSecurity v3 (libmodsecurity's
// YAJL-based RequestBodyProcessor::JSON) names them, parsed with simdjson.
//
// Names (v3's JSON::addArgument / getCurrentKey):
//   {"a":{"b":"x"}}        -> json.a.b = x
//   {"a":[1,[2],{"c":3}]}  -> json.a.array_0 = 1, json.a.array_1.array_0 = 2,
//                             json.a.array_2.c = 3
//   [1,2]                  -> json.array_0 = 1, json.array_1 = 2
//   "text" / 5 (top level) -> json = text / 5
//   {"":1}                 -> json.empty-key = 1
// Values: strings unescaped (\u0000 gives a NUL byte), numbers exactly as written
// (1.50e+3 stays "1.50e+3"), true / false as "true" / "false", null as "". Empty objects and
// arrays add nothing; duplicate keys each add an argument.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/arg.h"

namespace rampart::waf {

// v3's default when SecRequestBodyJsonDepthLimit is not set (json.cc json_depth_limit_default).
inline constexpr int kJsonDefaultMaxDepth = 10000;

struct JsonLimits {
  // SecRequestBodyJsonDepthLimit: how many objects/arrays may be open at once ({"a":{}} is 2).
  // v3 fails the parse when a container opens beyond it. Values < 1 are treated as 1.
  int max_depth = kJsonDefaultMaxDepth;
  // SecArgumentsLimit, minus the arguments the request already has. v3 cancels the JSON parse
  // (a parse error) when adding an argument fails because the limit is reached; 0 = no limit.
  std::size_t max_args = 0;
  // Ours, not v3's: a cap on the bytes of names plus values produced. Nesting makes names long
  // (every argument repeats its whole path), so without it a 1 MB body can ask for gigabytes.
  // 0 = 16 x body size + 1 MiB. Exceeding it is a parse error.
  std::size_t max_output_bytes = 0;
};

// Appends the body's arguments to `out`. Returns false and sets `*error` (if given) when the
// body is not one valid JSON text or a limit is hit. Arguments produced before a failure found
// during the walk stay in `out`, as v3's streaming parser leaves them (simdjson finds unbalanced
// brackets and invalid UTF-8 before the walk: those leave nothing). An empty body is valid and adds
// nothing (v3, issue #1822). The engine sets REQBODY_ERROR_MSG to "JSON parsing error: " + *error.
// Linear time and memory (bounded by the limits); never throws except std::bad_alloc.
bool ParseJsonBody(std::string_view body, std::vector<Arg>& out, std::string* error,
                   const JsonLimits& limits);

inline bool ParseJsonBody(std::string_view body, std::vector<Arg>& out, std::string* error,
                          int max_depth = kJsonDefaultMaxDepth) {
  JsonLimits limits;
  limits.max_depth = max_depth;
  return ParseJsonBody(body, out, error, limits);
}

}  // namespace rampart::waf
