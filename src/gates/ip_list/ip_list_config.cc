#include "gates/ip_list/ip_list_config.h"

#include "core/cidr.h"

namespace rampart::ip_list {

namespace {

bool CheckCidrs(config::YamlReader& r, const YAML::Node& at, const std::string& path,
                const std::vector<std::string>& list, std::string_view key) {
  bool ok = true;
  for (const auto& s : list) {
    if (!Cidr::Parse(s)) {
      r.Error(at, fmt::format("{}.{}: '{}' is not an address or CIDR network", path, key, s));
      ok = false;
    }
  }
  return ok;
}

}  // namespace

const config::Fields<IpListSpec>& IpListFields() {
  static const config::Fields<IpListSpec> kFields =
      config::Fields<IpListSpec>()
          .StringList("allow", &IpListSpec::allow)
          .StringList("deny", &IpListSpec::deny)
          .StringList("allow_files", &IpListSpec::allow_files)
          .StringList("deny_files", &IpListSpec::deny_files)
          .Then([](config::YamlReader& r, const YAML::Node& at, const std::string& path,
                   IpListSpec& s) {
            bool ok = CheckCidrs(r, at, path, s.allow, "allow");
            ok = CheckCidrs(r, at, path, s.deny, "deny") && ok;
            if (s.empty()) {
              r.Error(at, path + ": needs allow, deny, allow_files or deny_files");
              ok = false;
            }
            return ok;
          });
  return kFields;
}

}  // namespace rampart::ip_list
