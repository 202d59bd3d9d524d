// libFuzzer target: arbitrary bytes as a prefix list file (PrefixTable::Builder::AddListText).
// Beyond not crashing:
//  - the list is accepted exactly when every line, split and trimmed here by the documented
//    rules, parses on its own, and a refusal names the first bad line;
//  - each address the parser accepts is one inet_pton accepts, with the same bytes, and the other
//    way round (glibc's reading of IPv4 and IPv6 text is the reference);
//  - a parsed network has its host bits clear, a length within its family, and survives a round
//    trip through its canonical text;
//  - every parsed prefix, looked up with its own first and last address (and IPv4 ones also as
//    IPv4-mapped IPv6), matches with the list's value;
//  - for the first entries, each given its own value, lookups at and around every prefix
//    boundary agree with a linear longest-prefix scan.
#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/prefix_table.h"

namespace {

using rampart::PrefixTable;
using Network = PrefixTable::Network;
using Bytes = std::array<std::uint8_t, 16>;

constexpr PrefixTable::Value kListValue = 0x5a;
constexpr std::size_t kCrossChecked = 48;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

int Width(const Network& n) { return n.is_v6 ? 128 : 32; }

bool Bit(const Bytes& b, int i) { return (b[i / 8] >> (7 - i % 8)) & 1; }

bool Contains(const Network& n, const Bytes& a) {
  for (int i = 0; i < n.length; ++i) {
    if (Bit(n.bytes, i) != Bit(a, i)) return false;
  }
  return true;
}

Bytes LastAddress(const Network& n) {
  Bytes b = n.bytes;
  for (int i = n.length; i < Width(n); ++i) b[i / 8] |= static_cast<std::uint8_t>(0x80 >> (i % 8));
  return b;
}

// +1 or -1 within the family's width, wrapping.
Bytes Step(Bytes b, bool v6, bool up) {
  for (int i = (v6 ? 16 : 4) - 1; i >= 0; --i) {
    const std::uint8_t before = b[i];
    b[i] = static_cast<std::uint8_t>(up ? before + 1 : before - 1);
    if (before != (up ? 0xff : 0x00)) break;
  }
  return b;
}

std::optional<PrefixTable::Value> Find(const PrefixTable& t, bool v6, const Bytes& a) {
  if (v6) return t.LookupV6(a);
  return t.LookupV4(static_cast<std::uint32_t>(a[0]) << 24 |
                    static_cast<std::uint32_t>(a[1]) << 16 | static_cast<std::uint32_t>(a[2]) << 8 |
                    a[3]);
}

bool IsV4Mapped(const Bytes& a) {
  static constexpr Bytes kMapped = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a.data(), kMapped.data(), 12) == 0;
}

// The longest matching prefix of the family (an IPv4-mapped address is IPv4); among equal ones
// the last.
std::optional<PrefixTable::Value> Naive(const std::vector<Network>& nets, bool v6, Bytes a) {
  if (v6 && IsV4Mapped(a)) {
    v6 = false;
    std::memmove(a.data(), a.data() + 12, 4);
    std::memset(a.data() + 4, 0, 12);
  }
  int best = -1;
  std::optional<PrefixTable::Value> value;
  for (std::size_t i = 0; i < nets.size(); ++i) {
    if (nets[i].is_v6 == v6 && nets[i].length >= best && Contains(nets[i], a)) {
      best = nets[i].length;
      value = static_cast<PrefixTable::Value>(i);
    }
  }
  return value;
}

std::string_view Trim(std::string_view line) {
  if (std::size_t hash = line.find_first_of("#;"); hash != std::string_view::npos)
    line = line.substr(0, hash);
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!line.empty() && blank(line.front())) line.remove_prefix(1);
  while (!line.empty() && blank(line.back())) line.remove_suffix(1);
  return line;
}

void CheckAgainstInetPton(std::string_view entry, const std::optional<Network>& parsed) {
  const std::string address(entry.substr(0, entry.find('/')));
  // A zone id ("%eth0") is inet_pton's business only through if_nametoindex; a NUL ends its text.
  if (address.find('%') != std::string::npos || address.find('\0') != std::string::npos) return;
  const bool v6 = address.find(':') != std::string::npos;
  Bytes raw{};
  const bool ok = inet_pton(v6 ? AF_INET6 : AF_INET, address.c_str(), raw.data()) == 1;
  const std::optional<Network> alone = PrefixTable::ParseNetwork(address);
  Check(ok == alone.has_value());
  if (!ok) {
    Check(!parsed.has_value());
    return;
  }
  // Same address: compare with the host bits of a full-length parse (none cleared).
  if (alone->is_v6) {
    Check(std::memcmp(alone->bytes.data(), raw.data(), 16) == 0);
  } else if (v6) {  // IPv4-mapped text, kept as IPv4
    Check(std::memcmp(alone->bytes.data(), raw.data() + 12, 4) == 0);
  } else {
    Check(std::memcmp(alone->bytes.data(), raw.data(), 4) == 0);
  }
}

void CheckNetwork(const Network& n) {
  Check(n.length >= 0 && n.length <= Width(n));
  for (int i = n.length; i < 128; ++i) Check(!Bit(n.bytes, i));  // host bits and unused bytes
  Check(!n.is_v6 || n.length < 96 || !IsV4Mapped(n.bytes));
  // Canonical text round trip.
  char text[INET6_ADDRSTRLEN + 8];
  Check(inet_ntop(n.is_v6 ? AF_INET6 : AF_INET, n.bytes.data(), text, sizeof(text)) != nullptr);
  const std::string cidr = std::string(text) + "/" + std::to_string(n.length);
  const std::optional<Network> again = PrefixTable::ParseNetwork(cidr);
  Check(again.has_value() && again->is_v6 == n.is_v6 && again->length == n.length &&
        again->bytes == n.bytes && !again->had_host_bits);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  // The reference reading of the list, line by line.
  std::vector<Network> nets;
  std::size_t first_bad_line = 0;
  std::size_t line_number = 0;
  for (std::string_view rest = text;;) {
    ++line_number;
    const std::size_t newline = rest.find('\n');
    const std::string_view entry = Trim(rest.substr(0, newline));
    if (!entry.empty()) {
      const std::optional<Network> n = PrefixTable::ParseNetwork(entry);
      CheckAgainstInetPton(entry, n);
      if (!n) {
        first_bad_line = line_number;
        break;
      }
      CheckNetwork(*n);
      nets.push_back(*n);
    }
    if (newline == std::string_view::npos) break;
    rest.remove_prefix(newline + 1);
  }

  PrefixTable::Builder builder;
  std::string error;
  const bool ok = builder.AddListText(text, kListValue, &error);
  Check(ok == (first_bad_line == 0));
  if (!ok) {
    const std::string expected = "line " + std::to_string(first_bad_line) + ": '";
    Check(error.compare(0, expected.size(), expected) == 0);
    // Bounded, whatever the line: 64 bytes quoted, each at most \xNN, then "..." and the rest.
    Check(error.size() <= expected.size() + std::size_t{4} * 64 + 3 + 30);
    Check(builder.size() == 0);
    return 0;
  }
  Check(builder.size() == nets.size());
  const PrefixTable table = std::move(builder).Build();
  Check(table.prefixes() <= nets.size());
  Check(nets.empty() == (table.prefixes() == 0));

  for (const Network& n : nets) {
    Check(!n.is_v6 || !IsV4Mapped(n.bytes));  // else it would be IPv4: see CheckNetwork
    for (const Bytes& a : {n.bytes, LastAddress(n)}) {
      // An IPv6 prefix shorter than /96 can end inside ::ffff:0:0/96, which IPv4 answers for.
      if (n.is_v6 && IsV4Mapped(a)) continue;
      Check(Find(table, n.is_v6, a) == kListValue);
      if (!n.is_v6) {  // and as IPv4-mapped IPv6
        Bytes mapped{};
        mapped[10] = mapped[11] = 0xff;
        std::copy(a.begin(), a.begin() + 4, mapped.begin() + 12);
        Check(table.LookupV6(mapped) == kListValue);
      }
    }
  }

  // Distinct values, checked against a linear scan at every boundary and one either side.
  nets.resize(std::min(nets.size(), kCrossChecked));
  PrefixTable::Builder each;
  for (std::size_t i = 0; i < nets.size(); ++i)
    each.Add(nets[i], static_cast<PrefixTable::Value>(i));
  const PrefixTable distinct = std::move(each).Build();
  for (const Network& n : nets) {
    const Bytes last = LastAddress(n);
    for (const Bytes& a :
         {n.bytes, last, Step(n.bytes, n.is_v6, false), Step(last, n.is_v6, true)}) {
      Check(Find(distinct, n.is_v6, a) == Naive(nets, n.is_v6, a));
    }
  }
  return 0;
}
