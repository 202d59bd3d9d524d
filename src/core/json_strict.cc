#include "core/json_strict.h"

#include <algorithm>
#include <vector>

namespace rampart {

namespace {

// Keys of one object are few in what rampart parses; a sorted copy finds a repeat.
bool HasDuplicateKeys(simdjson::dom::element e, std::size_t depth, std::size_t max_depth,
                      std::string_view& error) {
  if (depth > max_depth) {
    error = "too_deep";
    return true;
  }
  if (e.is_object()) {
    std::vector<std::string_view> keys;
    for (auto field : AsObject(e)) {
      keys.push_back(field.key);
      if (HasDuplicateKeys(field.value, depth + 1, max_depth, error)) return true;
    }
    std::sort(keys.begin(), keys.end());
    if (std::adjacent_find(keys.begin(), keys.end()) != keys.end()) {
      error = "duplicate_key";
      return true;
    }
  } else if (e.is_array()) {
    for (auto item : AsArray(e)) {
      if (HasDuplicateKeys(item, depth + 1, max_depth, error)) return true;
    }
  }
  return false;
}

}  // namespace

bool StrictJson::Parse(std::string_view text, simdjson::dom::element& root,
                       std::string_view& error) {
  auto r = parser_.parse(text.data(), text.size(), true);
  if (r.error()) {
    error = r.error() == simdjson::DEPTH_ERROR ? "too_deep" : "invalid_json";
    return false;
  }
  root = r.value_unsafe();
  return !HasDuplicateKeys(root, 1, max_depth_, error);
}

bool JsonStringList(simdjson::dom::object obj, std::string_view key,
                    std::vector<std::string>& out) {
  auto v = obj.at_key(key);
  if (v.error()) return true;
  if (!v.value_unsafe().is_array()) return false;
  for (auto item : AsArray(v.value_unsafe())) {
    std::string_view s;
    if (item.get_string().get(s)) return false;
    out.emplace_back(s);
  }
  return true;
}

std::string_view JsonString(simdjson::dom::object obj, std::string_view key, bool* found) noexcept {
  auto v = obj.at_key(key);
  std::string_view s;
  const bool ok =
      !v.error() && v.value_unsafe().is_string() && !v.value_unsafe().get_string().get(s);
  if (found) *found = ok;
  return ok ? s : std::string_view();
}

}  // namespace rampart
