// Strict, typed reading of YAML nodes. Every problem becomes a ConfigError with file:line;
// reading continues so that one run reports every error. Unknown keys are errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"

namespace rampart::config {

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<ConfigError>& errors)
      : file_(std::move(file)), errors_(errors) {}

  const std::string& file() const noexcept { return file_; }
  int LineOf(const YAML::Node& n) const noexcept;
  Origin OriginOf(const YAML::Node& n) const { return {file_, LineOf(n)}; }
  void Error(const YAML::Node& at, std::string message);
  void ErrorAtLine(int line, std::string message);

  // Scalar readers: return false (after recording an error naming `what`) on a bad value.
  bool String(const YAML::Node& n, std::string_view what, std::string& out);
  bool Bool(const YAML::Node& n, std::string_view what, bool& out);
  bool Uint(const YAML::Node& n, std::string_view what, std::uint64_t max, std::uint64_t& out);
  bool Duration(const YAML::Node& n, std::string_view what, std::chrono::microseconds& out);
  bool Size(const YAML::Node& n, std::string_view what, std::uint64_t& out);
  // A list of strings; a single string is accepted as a list of one.
  bool StringList(const YAML::Node& n, std::string_view what, std::vector<std::string>& out);

  // A percentage, `20%` or `20`, from `min` to `max` (20 for 20%).
  bool Percent(const YAML::Node& n, std::string_view what, double min, double max, double& out);
  // A list of HTTP statuses (100 to 599); a single one is accepted as a list of one.
  bool Statuses(const YAML::Node& n, std::string_view what, std::vector<int>& out);

  // One of a fixed set of words, e.g. {{"police", kPolice}, {"shape", kShape}}; an error says
  // "'x' is not police or shape".
  template <typename T>
  bool Choice(const YAML::Node& n, std::string_view what,
              std::initializer_list<std::pair<std::string_view, T>> choices, T& out) {
    std::string s;
    if (!String(n, what, s)) return false;
    std::string allowed;
    std::size_t i = 0;
    for (const auto& [word, value] : choices) {
      if (word == s) {
        out = value;
        return true;
      }
      if (i > 0) allowed += i + 1 == choices.size() ? " or " : ", ";
      allowed += word;
      ++i;
    }
    Error(n, std::string(what) + ": '" + s + "' is not " + allowed);
    return false;
  }

  template <typename T>
  bool Uint(const YAML::Node& n, std::string_view what, T& out) {
    std::uint64_t v = 0;
    if (!Uint(n, what, static_cast<std::uint64_t>(static_cast<T>(~T{0})), v)) return false;
    out = static_cast<T>(v);
    return true;
  }

 private:
  std::string file_;
  std::vector<ConfigError>& errors_;
};

// A YAML mapping read key by key. Keys not asked for are reported by Finish() as unknown,
// together with the keys that are allowed.
class YamlObject {
 public:
  YamlObject(YamlReader& reader, const YAML::Node& node, std::string path);
  bool ok() const noexcept { return ok_; }
  const YAML::Node& node() const noexcept { return node_; }
  const std::string& path() const noexcept { return path_; }
  // Returns the value node (or an undefined node when absent) and marks the key as known.
  YAML::Node Get(std::string_view key);
  std::string Where(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  void Finish();

 private:
  YamlReader& reader_;
  YAML::Node node_;
  std::string path_;
  bool ok_ = false;
  std::set<std::string, std::less<>> known_;
};

}  // namespace rampart::config
