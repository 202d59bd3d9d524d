// Settings read from declared fields: a gate's (or an upstream policy's) keys are declared once,
// each with its member, type, bounds or choices, and the reading follows from the declaration:
// each key present is read and checked, required ones must be there, any other key is an error
// that names the declared ones, and every message carries file:line and the key's path. The same
// declaration lists the keys for the documentation check (config_docs_test.cc).
//
//   static const config::Fields<MtlsConfig> kFields = config::Fields<MtlsConfig>()
//       .StringList("allow_spiffe_ids", &MtlsConfig::spiffe_ids)
//       .String("forward_header", &MtlsConfig::forward_header);
//   MtlsConfig c;
//   if (!kFields.Read(ctx.reader, settings, ctx.where, c)) return nullptr;
#pragma once

#include <fmt/format.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/yaml_reader.h"

namespace rampart::config {

template <typename T>
class Fields {
 public:
  // Reads the value at `n` into `out`; errors go to the reader, naming `path` (the key's path).
  using Reader =
      std::function<bool(YamlReader& r, const YAML::Node& n, const std::string& path, T& out)>;
  // After every key was read: checks that involve several keys (`at` is the object's node).
  using Check =
      std::function<bool(YamlReader& r, const YAML::Node& at, const std::string& path, T& out)>;

  // A key with its own reader (a list of objects, a value whose meaning depends on another key).
  Fields& Custom(std::string key, Reader read, bool required = false) {
    fields_.push_back({std::move(key), std::move(read), required});
    return *this;
  }
  Fields& String(std::string key, std::string T::*m, bool required = false) {
    return Custom(
        std::move(key),
        [m](YamlReader& r, const YAML::Node& n, const std::string& p, T& o) {
          return r.String(n, p, o.*m);
        },
        required);
  }
  Fields& Bool(std::string key, bool T::*m) {
    return Custom(std::move(key), [m](YamlReader& r, const YAML::Node& n, const std::string& p,
                                      T& o) { return r.Bool(n, p, o.*m); });
  }
  template <typename U>
  Fields& Uint(std::string key, U T::*m, std::uint64_t min, std::uint64_t max) {
    return Custom(std::move(key),
                  [m, min, max](YamlReader& r, const YAML::Node& n, const std::string& p, T& o) {
                    std::uint64_t v = 0;
                    if (!r.Uint(n, p, max, v)) return false;
                    if (v < min) {
                      r.Error(n, fmt::format("{}: must be at least {}", p, min));
                      return false;
                    }
                    o.*m = static_cast<U>(v);
                    return true;
                  });
  }
  Fields& Size(std::string key, std::uint64_t T::*m, std::uint64_t max) {
    return Custom(std::move(key),
                  [m, max](YamlReader& r, const YAML::Node& n, const std::string& p, T& o) {
                    std::uint64_t v = 0;
                    if (!r.Size(n, p, v)) return false;
                    if (v > max) {
                      r.Error(n, fmt::format("{}: at most {} bytes", p, max));
                      return false;
                    }
                    o.*m = v;
                    return true;
                  });
  }
  template <typename D>
  Fields& Duration(std::string key, D T::*m, std::chrono::microseconds min,
                   std::chrono::microseconds max) {
    return Custom(std::move(key), [m, min, max](YamlReader& r, const YAML::Node& n,
                                                const std::string& p, T& o) {
      std::chrono::microseconds d{};
      if (!r.Duration(n, p, d)) return false;
      if (d < min || d > max) {
        r.Error(n, fmt::format("{}: must be from {}us to {}us", p, min.count(), max.count()));
        return false;
      }
      o.*m = std::chrono::duration_cast<D>(d);
      return true;
    });
  }
  template <typename E>
  Fields& Choice(std::string key, E T::*m, std::vector<std::pair<std::string_view, E>> choices) {
    return Custom(std::move(key),
                  [m, choices](YamlReader& r, const YAML::Node& n, const std::string& p, T& o) {
                    std::string s;
                    if (!r.String(n, p, s)) return false;
                    std::string allowed;
                    for (std::size_t i = 0; i < choices.size(); ++i) {
                      if (choices[i].first == s) {
                        o.*m = choices[i].second;
                        return true;
                      }
                      if (i > 0) allowed += i + 1 == choices.size() ? " or " : ", ";
                      allowed += choices[i].first;
                    }
                    r.Error(n, fmt::format("{}: '{}' is not {}", p, s, allowed));
                    return false;
                  });
  }
  // A percentage (`20%` or `20`) from `min` to `max`, stored as a fraction (0.2).
  Fields& Percent(std::string key, double T::*m, double min, double max) {
    return Custom(std::move(key),
                  [m, min, max](YamlReader& r, const YAML::Node& n, const std::string& p, T& o) {
                    double v = 0;
                    if (!r.Percent(n, p, min, max, v)) return false;
                    o.*m = v / 100.0;
                    return true;
                  });
  }
  // A list of HTTP statuses (100 to 599).
  Fields& Statuses(std::string key, std::vector<int> T::*m) {
    return Custom(std::move(key), [m](YamlReader& r, const YAML::Node& n, const std::string& p,
                                      T& o) { return r.Statuses(n, p, o.*m); });
  }
  Fields& StringList(std::string key, std::vector<std::string> T::*m) {
    return Custom(std::move(key), [m](YamlReader& r, const YAML::Node& n, const std::string& p,
                                      T& o) { return r.StringList(n, p, o.*m); });
  }
  Fields& Then(Check check) {
    checks_.push_back(std::move(check));
    return *this;
  }

  // Reads the mapping at `node` into `out` (which holds the defaults). False after errors.
  bool Read(YamlReader& r, const YAML::Node& node, const std::string& path, T& out) const {
    YamlObject o(r, node, path);
    if (!o.ok()) return false;
    const bool ok = ReadFrom(r, o, out);
    o.Finish();
    return ok;
  }
  // The declared keys of an object another declaration shares (a gate whose single inline
  // limit sits beside its own keys); the caller calls o.Finish().
  bool ReadFrom(YamlReader& r, YamlObject& o, T& out) const {
    bool ok = true;
    for (const Field& f : fields_) {
      const YAML::Node x = o.Get(f.key);
      if (x.IsDefined()) {
        ok = f.read(r, x, o.Where(f.key), out) && ok;
      } else if (f.required) {
        r.Error(o.node(), fmt::format("{}: required", o.Where(f.key)));
        ok = false;
      }
    }
    if (!ok) return false;
    for (const Check& c : checks_) ok = c(r, o.node(), o.path(), out) && ok;
    return ok;
  }

  std::vector<std::string> Keys() const {
    std::vector<std::string> out;
    for (const Field& f : fields_) out.push_back(f.key);
    return out;
  }

 private:
  struct Field {
    std::string key;
    Reader read;
    bool required = false;
  };
  std::vector<Field> fields_;
  std::vector<Check> checks_;
};

}  // namespace rampart::config
