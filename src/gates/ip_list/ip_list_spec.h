// An IP list's settings, on a listener (`listeners[].ip_list`) or as a route gate
// (`gates: [ip_list: ...]`): CIDRs written inline and list files (one entry a line).
#pragma once

#include <string>
#include <vector>

namespace rampart::ip_list {

struct IpListSpec {
  std::vector<std::string> allow;  // CIDRs or addresses
  std::vector<std::string> deny;
  std::vector<std::string> allow_files;  // paths, relative to the config file
  std::vector<std::string> deny_files;
  bool empty() const noexcept {
    return allow.empty() && deny.empty() && allow_files.empty() && deny_files.empty();
  }
};

}  // namespace rampart::ip_list
