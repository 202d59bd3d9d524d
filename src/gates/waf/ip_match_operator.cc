// @ipMatch, @ipMatchFromFile (alias @ipMatchF): the value is an IP address inside one of the
// listed addresses or CIDR blocks (ModSecurity v3 src/operators/ip_match*.cc over the radix tree
// of src/utils/msc_tree.cc).
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "gates/waf/operator_internal.h"

namespace rampart::waf::op_internal {
namespace {

using Address = std::array<unsigned char, 16>;  // IPv4 uses the first 4 bytes

struct Network {
  Address addr{};  // host bits cleared
  int prefix = 0;
  bool operator<(const Network& o) const {
    return prefix != o.prefix ? prefix < o.prefix : addr < o.addr;
  }
  bool operator==(const Network& o) const = default;
};

Address Masked(const Address& a, int prefix) {
  Address out{};
  for (int i = 0; i < 16 && prefix > 0; ++i, prefix -= 8) {
    out[i] = prefix >= 8 ? a[i] : static_cast<unsigned char>(a[i] & (0xFF00 >> prefix));
  }
  return out;
}

// The networks of one family, answering "is the address in any of them" with one binary search
// per distinct prefix length.
class NetworkSet {
 public:
  void Add(const Address& addr, int prefix) { nets_.push_back({Masked(addr, prefix), prefix}); }
  void Finish() {
    std::sort(nets_.begin(), nets_.end());
    nets_.erase(std::unique(nets_.begin(), nets_.end()), nets_.end());
    for (const Network& n : nets_) {
      if (prefixes_.empty() || prefixes_.back() != n.prefix) prefixes_.push_back(n.prefix);
    }
  }
  bool Contains(const Address& addr) const noexcept {
    for (const int prefix : prefixes_) {
      const Network probe{Masked(addr, prefix), prefix};
      if (std::binary_search(nets_.begin(), nets_.end(), probe)) return true;
    }
    return false;
  }

 private:
  std::vector<Network> nets_;
  std::vector<int> prefixes_;  // ascending, distinct
};

std::string_view Trim(std::string_view s) {
  static constexpr std::string_view kSpace = " \t\r\n\v\f";
  const std::size_t b = s.find_first_not_of(kSpace);
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

// inet_pton on a string_view (which need not be NUL-terminated and may hold NUL bytes).
bool ParseAddress(std::string_view text, bool v6, Address* out) noexcept {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  if (std::memchr(text.data(), '\0', text.size()) != nullptr) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  *out = Address{};
  return inet_pton(v6 ? AF_INET6 : AF_INET, buf, out->data()) == 1;
}

class IpMatchOperator final : public Operator {
 public:
  IpMatchOperator(NetworkSet v4, NetworkSet v6) : v4_(std::move(v4)), v6_(std::move(v6)) {}

  bool Match(std::string_view value, std::string_view,
             CaptureSet* captures) const noexcept override {
    if (captures != nullptr) captures->count = 0;
    // v3 (tree_contains_ip): a value with ':' is IPv6, anything else IPv4, parsed by inet_pton;
    // a value that does not parse (white space included) does not match.
    Address addr;
    if (value.find(':') == std::string_view::npos) {
      return ParseAddress(value, false, &addr) && v4_.Contains(addr);
    }
    if (!ParseAddress(value, true, &addr)) return false;
    if (v6_.Contains(addr)) return true;
    // Not in v3, which looks IPv6 values up in the IPv6 list only: an IPv4-mapped address
    // (::ffff:a.b.c.d, what a dual-stack socket reports for an IPv4 client) is also looked up as
    // the IPv4 address it carries, so that 10.0.0.0/8 covers ::ffff:10.1.2.3.
    static constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (std::memcmp(addr.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
      Address v4{};
      std::memcpy(v4.data(), addr.data() + 12, 4);
      return v4_.Contains(v4);
    }
    return false;
  }

 private:
  NetworkSet v4_;
  NetworkSet v6_;
};

// Adds one entry: "1.2.3.4", "10.0.0.0/8", "::1", "2001:db8::/32". v3 (TreeAddIP) also
// decides the family by ':' and takes the prefix with atoi; unlike v3 we accept /0 (v3 refuses
// it: is_netmask_v4 returns 0 for "no valid mask") and refuse a prefix with trailing junk.
bool AddEntry(std::string_view entry, NetworkSet* v4, NetworkSet* v6, std::string* error) {
  const bool is_v6 = entry.find(':') != std::string_view::npos;
  const int max_prefix = is_v6 ? 128 : 32;
  int prefix = max_prefix;
  std::string_view address = entry;
  if (const std::size_t slash = entry.find('/'); slash != std::string_view::npos) {
    address = entry.substr(0, slash);
    const std::string_view bits = entry.substr(slash + 1);
    prefix = 0;
    bool ok = !bits.empty() && bits.size() <= 3;
    for (const char c : bits) {
      if (c < '0' || c > '9') ok = false;
      if (ok) prefix = prefix * 10 + (c - '0');
    }
    if (!ok || prefix > max_prefix) {
      *error = "invalid prefix length in '" + std::string(entry) + "'";
      return false;
    }
  }
  Address addr;
  if (!ParseAddress(address, is_v6, &addr)) {
    *error = "invalid IP address '" + std::string(entry) + "'";
    return false;
  }
  (is_v6 ? v6 : v4)->Add(addr, prefix);
  return true;
}

// A comma-separated list, as v3's add_ip_from_param (strtok: empty pieces skipped). We also trim
// white space around each piece, which v3 would refuse.
bool AddList(std::string_view list, NetworkSet* v4, NetworkSet* v6, std::string* error) {
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    const std::string_view piece = Trim(list.substr(pos, comma - pos));
    if (!piece.empty() && !AddEntry(piece, v4, v6, error)) return false;
    pos = comma + 1;
  }
  return true;
}

}  // namespace

std::unique_ptr<Operator> MakeIpMatch(std::string_view param, std::string* error) {
  NetworkSet v4, v6;
  if (!AddList(param, &v4, &v6, error)) return nullptr;
  v4.Finish();
  v6.Finish();
  return std::make_unique<IpMatchOperator>(std::move(v4), std::move(v6));
}

std::unique_ptr<Operator> MakeIpMatchFromFile(std::string_view param, const OperatorEnv& env,
                                              std::string* error) {
  const std::string_view name = Trim(param);
  if (name.substr(0, 8) == "https://" || name.substr(0, 7) == "http://") {
    *error = "downloading address files is not supported";
    return nullptr;
  }
  if (name.empty()) {
    *error = "missing file name";
    return nullptr;
  }
  std::string contents;
  if (!ReadOperatorFile(env.rules_dir, name, &contents, error)) return nullptr;
  // v3 IpTree::addFromBuffer: per line, everything from '#' on is a comment, and the rest is a
  // comma-separated list as in @ipMatch.
  NetworkSet v4, v6;
  std::size_t pos = 0;
  int line_number = 0;
  while (pos < contents.size()) {
    std::size_t end = contents.find('\n', pos);
    if (end == std::string::npos) end = contents.size();
    std::string_view line = std::string_view(contents).substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (const std::size_t hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    std::string problem;
    if (!AddList(line, &v4, &v6, &problem)) {
      *error = std::string(name) + ":" + std::to_string(line_number) + ": " + problem;
      return nullptr;
    }
  }
  v4.Finish();
  v6.Finish();
  return std::make_unique<IpMatchOperator>(std::move(v4), std::move(v6));
}

}  // namespace rampart::waf::op_internal
