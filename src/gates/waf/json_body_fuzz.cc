// libFuzzer target: JSON request bodies (ParseJsonBody). Besides memory safety, compares the
// verdict with simdjson's DOM parser, which validates the whole text strictly: whatever the DOM
// accepts we must accept with one argument per scalar; whatever we accept the DOM must accept,
// except numbers beyond what it can convert (which YAJL, and so v3, take as text).
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/json_body.h"

namespace {

// Scalars in a DOM tree, iteratively (the input may nest deeply).
std::size_t CountScalars(simdjson::dom::element root) {
  std::size_t n = 0;
  std::vector<simdjson::dom::element> pending{root};
  while (!pending.empty()) {
    const simdjson::dom::element e = pending.back();
    pending.pop_back();
    simdjson::dom::array array;
    simdjson::dom::object object;
    if (e.get_array().get(array) == simdjson::SUCCESS) {
      for (const simdjson::dom::element child : array) pending.push_back(child);
    } else if (e.get_object().get(object) == simdjson::SUCCESS) {
      for (const simdjson::dom::key_value_pair kv : object) pending.push_back(kv.value);
    } else {
      ++n;
    }
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<rampart::waf::Arg> args;
  std::string error;
  const bool ok = rampart::waf::ParseJsonBody(body, args, &error);
  if (!ok && error.empty()) __builtin_trap();
  for (const auto& a : args) {
    if (a.name.compare(0, 4, "json") != 0) __builtin_trap();
  }

  if (!body.empty()) {
    simdjson::dom::parser dom;
    if (dom.allocate(size, 2 * rampart::waf::kJsonDefaultMaxDepth) != simdjson::SUCCESS) return 0;
    simdjson::dom::element root;
    const simdjson::error_code e = dom.parse(body.data(), body.size()).get(root);
    if (e == simdjson::SUCCESS) {
      // Our own limits may refuse a valid text: the depth limit, and the output budget (deep
      // nesting repeats long names in every argument).
      const bool limited = !ok && (error.find("depth") != std::string::npos ||
                                   error.find("output limit") != std::string::npos);
      if (!ok && !limited) __builtin_trap();
      if (ok && args.size() != CountScalars(root)) __builtin_trap();
    } else if (ok && e != simdjson::NUMBER_ERROR && e != simdjson::DEPTH_ERROR) {
      __builtin_trap();
    }
  }

  // A small depth limit exercises the depth error path.
  std::vector<rampart::waf::Arg> shallow;
  rampart::waf::ParseJsonBody(body, shallow, nullptr, 3);
  return 0;
}
