// JSON for values an attacker writes (token headers and claims, key sets): simdjson's DOM parser
// (which validates UTF-8 and the grammar), plus what a lenient parser lets through and a parser
// differential can exploit: a key twice in one object (at any depth) is refused, as is nesting
// deeper than the limit. One parser per thread: reuse it, the DOM stays valid until the next
// Parse.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/simdjson_include.h"

namespace rampart {

class StrictJson {
 public:
  explicit StrictJson(std::size_t max_depth = 16) : max_depth_(max_depth) {}
  // The root value, or false with `error` ("invalid_json", "duplicate_key", "too_deep").
  bool Parse(std::string_view text, simdjson::dom::element& root, std::string_view& error);

 private:
  std::size_t max_depth_;
  simdjson::dom::parser parser_;
};

// The object or array a value holds, by value: the caller has checked its type. (A range-for
// over `e.get_array().value_unsafe()` binds a reference into a temporary result that is gone
// before the loop runs; these copies are what the loops iterate.)
inline simdjson::dom::object AsObject(simdjson::dom::element e) noexcept {
  simdjson::dom::object o;
  if (e.get_object().get(o)) return {};
  return o;
}
inline simdjson::dom::array AsArray(simdjson::dom::element e) noexcept {
  simdjson::dom::array a;
  if (e.get_array().get(a)) return {};
  return a;
}

// The array of strings at `key` of `obj` appended to `out`: true when absent too, false when it
// is not an array of strings.
bool JsonStringList(simdjson::dom::object obj, std::string_view key, std::vector<std::string>& out);

// The string at `key` of `obj`, or empty with found=false (a non-string is not found either).
std::string_view JsonString(simdjson::dom::object obj, std::string_view key,
                            bool* found = nullptr) noexcept;

}  // namespace rampart
