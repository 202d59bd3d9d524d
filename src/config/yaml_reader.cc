#include "config/yaml_reader.h"

#include <charconv>
#include <cmath>

#include "core/units.h"

namespace rampart::config {
namespace {

std::string Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Scalar:
      return "'" + n.Scalar() + "'";
    default:
      return "an undefined value";
  }
}

}  // namespace

int YamlReader::LineOf(const YAML::Node& n) const noexcept {
  if (!n.IsDefined()) return 0;
  const auto mark = n.Mark();
  return mark.line >= 0 ? mark.line + 1 : 0;
}

void YamlReader::Error(const YAML::Node& at, std::string message) {
  errors_.push_back({file_, LineOf(at), std::move(message)});
}

void YamlReader::ErrorAtLine(int line, std::string message) {
  errors_.push_back({file_, line, std::move(message)});
}

bool YamlReader::String(const YAML::Node& n, std::string_view what, std::string& out) {
  if (!n.IsScalar()) {
    Error(n, fmt::format("{}: expected a string, got {}", what, Describe(n)));
    return false;
  }
  out = n.Scalar();
  return true;
}

bool YamlReader::Bool(const YAML::Node& n, std::string_view what, bool& out) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    if (s == "true") return out = true, true;
    if (s == "false") return out = false, true;
  }
  Error(n, fmt::format("{}: expected true or false, got {}", what, Describe(n)));
  return false;
}

bool YamlReader::Uint(const YAML::Node& n, std::string_view what, std::uint64_t max,
                      std::uint64_t& out) {
  if (n.IsScalar()) {
    const std::string& s = n.Scalar();
    std::uint64_t v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size() && !s.empty()) {
      if (v > max) {
        Error(n, fmt::format("{}: {} is larger than the maximum {}", what, v, max));
        return false;
      }
      out = v;
      return true;
    }
  }
  Error(n, fmt::format("{}: expected a whole number, got {}", what, Describe(n)));
  return false;
}

bool YamlReader::Duration(const YAML::Node& n, std::string_view what,
                          std::chrono::microseconds& out) {
  if (n.IsScalar()) {
    if (auto d = ParseDuration(n.Scalar())) {
      out = *d;
      return true;
    }
  }
  Error(n,
        fmt::format("{}: expected a duration such as 250ms, 10s or 5m, got {}", what, Describe(n)));
  return false;
}

bool YamlReader::Size(const YAML::Node& n, std::string_view what, std::uint64_t& out) {
  if (n.IsScalar()) {
    if (auto v = ParseSize(n.Scalar())) {
      out = *v;
      return true;
    }
  }
  Error(n,
        fmt::format("{}: expected a size such as 512, 64KiB or 10MiB, got {}", what, Describe(n)));
  return false;
}

bool YamlReader::StringList(const YAML::Node& n, std::string_view what,
                            std::vector<std::string>& out) {
  out.clear();
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    Error(n, fmt::format("{}: expected a list of strings, got {}", what, Describe(n)));
    return false;
  }
  bool ok = true;
  for (std::size_t i = 0; i < n.size(); ++i) {
    std::string s;
    if (String(n[i], fmt::format("{}[{}]", what, i), s))
      out.push_back(std::move(s));
    else
      ok = false;
  }
  return ok;
}

bool YamlReader::Percent(const YAML::Node& n, std::string_view what, double min, double max,
                         double& out) {
  std::string text;
  if (!String(n, what, text)) return false;
  if (!text.empty() && text.back() == '%') text.pop_back();
  double v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(v) || v < min ||
      v > max) {
    Error(n, fmt::format("{}: a percentage from {} to {}", what, min, max));
    return false;
  }
  out = v;
  return true;
}

bool YamlReader::Statuses(const YAML::Node& n, std::string_view what, std::vector<int>& out) {
  std::vector<std::string> words;
  if (!StringList(n, what, words)) return false;
  out.clear();
  for (const auto& w : words) {
    int s = 0;
    auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), s);
    if (ec != std::errc() || end != w.data() + w.size() || s < 100 || s > 599) {
      Error(n, fmt::format("{}: '{}' is not an HTTP status", what, w));
      return false;
    }
    out.push_back(s);
  }
  return true;
}

YamlObject::YamlObject(YamlReader& reader, const YAML::Node& node, std::string path)
    : reader_(reader), node_(node), path_(std::move(path)) {
  if (node.IsMap()) {
    ok_ = true;
  } else {
    reader_.Error(node, fmt::format("{}: expected a mapping of keys, got {}",
                                    path_.empty() ? "top level" : path_, Describe(node)));
  }
}

YAML::Node YamlObject::Get(std::string_view key) {
  known_.emplace(key);
  if (!ok_) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

void YamlObject::Finish() {
  if (!ok_) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
    if (known_.count(key) == 0) {
      std::string allowed;
      for (const auto& k : known_) allowed += (allowed.empty() ? "" : ", ") + k;
      reader_.Error(it->first, fmt::format("unknown key '{}' in {} (allowed: {})", key,
                                           path_.empty() ? "top level" : path_, allowed));
    }
  }
}

}  // namespace rampart::config
