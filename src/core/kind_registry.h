// Kinds (gate kinds, upstream policy kinds) and their factories, found by the name the
// configuration uses, each with the settings keys it declares (for the documentation check) and,
// for a kind that is another's twin under a second name, the kind its documentation is under.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace rampart {

template <typename Factory>
class KindRegistry {
 public:
  void Register(std::string kind, Factory factory, std::vector<std::string> keys = {},
                std::string alias_of = {}) {
    entries_[std::move(kind)] = {std::move(factory), std::move(keys), std::move(alias_of)};
  }
  const Factory* Find(std::string_view kind) const {
    auto it = entries_.find(kind);
    return it == entries_.end() ? nullptr : &it->second.factory;
  }
  std::vector<std::string> Kinds() const {
    std::vector<std::string> out;
    for (const auto& [k, _] : entries_) out.push_back(k);
    return out;
  }
  // "a, b, c", or `none` when nothing is registered: for "unknown kind" errors.
  std::string KindList(std::string_view none) const {
    std::string out;
    for (const auto& [k, _] : entries_) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? std::string(none) : out;
  }
  const std::vector<std::string>& Keys(std::string_view kind) const {
    static const std::vector<std::string> kNone;
    auto it = entries_.find(kind);
    return it == entries_.end() ? kNone : it->second.keys;
  }
  std::string_view DocumentedAs(std::string_view kind) const {
    auto it = entries_.find(kind);
    if (it == entries_.end() || it->second.alias_of.empty()) return kind;
    return it->second.alias_of;
  }

 private:
  struct Entry {
    Factory factory;
    std::vector<std::string> keys;
    std::string alias_of;
  };
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace rampart
