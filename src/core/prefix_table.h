// Longest-prefix match over IPv4 and IPv6 CIDR prefixes, for allow/deny lists and reputation
// feeds of up to millions of entries.
//
// Layout. Build() flattens the prefixes of each family into sorted, disjoint address intervals
// that cover the whole address space, each labelled with the value of its most specific covering
// prefix or "none" (one sweep over the prefixes sorted by start, then by length, with a stack of
// the open ones; neighbours with the same label are merged). A lookup is then an upper_bound on
// the interval starts, narrowed first by an index on the address's top bits. Since a bucket
// fixes those bits, the keys drop them, and the label takes the freed low bits: the search and
// the answer read the same cache line.
//  - IPv4: 65,537 offsets keyed by the top 16 bits; an interval is one uint32, the low 16 bits
//    of its start then its label.
//  - IPv6: 2^k + 1 offsets keyed by the top k bits (k = 10..20, growing with the table for a few
//    intervals per bucket); an interval is a uint64, the rest of its start's high half then the
//    label, plus the low half in a parallel array, read only when high halves tie and the low
//    half matters (prefixes longer than /64).
// A random lookup reads an index entry and, with the bucket's lines prefetched together, about
// one cache line of intervals: O(log bucket), no pointer chasing. A lookup on its own is about
// one cache miss into a table of this size; lookups in a row overlap theirs. Building is
// O(n log n) (one sort). Memory: 4 bytes per IPv4 interval, 16 per IPv6 one, at most two
// intervals per prefix (itself, and what follows it), so at most about 8 bytes per IPv4 prefix
// and 33 per IPv6 prefix; plus a fixed 256 KiB index once the table holds any IPv4 prefix, so
// this is for the few big lists a process loads, not for thousands of tiny ones. The IPv6 index
// assumes starts spread over the top bits; a list crowded into a few /20s still works, with a
// longer binary search in those buckets.
//
// Threading: a built PrefixTable is immutable; share it (std::shared_ptr<const PrefixTable>)
// across threads, lookups take no locks. A Builder is single-threaded.
#pragma once

#include <array>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {

class PrefixTable {
 public:
  using Value = std::uint8_t;  // what a prefix maps to (e.g. 0 = allow, 1 = deny); callers choose

  // One parsed entry with its host bits cleared. An IPv4-mapped IPv6 network of length >= 96
  // (::ffff:a.b.c.d/96+n) is kept as the IPv4 network a.b.c.d/n, because lookups of mapped
  // addresses are IPv4 lookups (below): as IPv6 it could never match.
  struct Network {
    bool is_v6 = false;
    std::array<std::uint8_t, 16> bytes{};  // network byte order; IPv4 in bytes[0..3]
    int length = 0;                        // 0..32 for IPv4, 0..128 for IPv6
    bool had_host_bits = false;            // "10.1.2.3/8": bits past the length were set
  };

  // Strict text of one entry, no surrounding spaces: an address ("192.0.2.7" is a /32, "::1" a
  // /128) or address/length. Refused: IPv4 other than four decimal octets, octets or lengths with
  // leading zeros ("010.0.0.1", "/08": some tools read them as octal, so the meaning is not
  // certain), signs, spaces, IPv6 zone ids ("fe80::1%eth0"), brackets, a length past the family's
  // width. IPv6 is RFC 4291 text (a trailing dotted IPv4 allowed); the accepted addresses are
  // exactly those glibc's inet_pton accepts.
  static std::optional<Network> ParseNetwork(std::string_view text) noexcept;

  class Builder {
   public:
    // Host bits of `network` are ignored. Precondition: 0 <= prefix_len <= 32 (IPv4) or 128
    // (IPv6); a length out of range is a caller bug, not bad input (text goes through AddText),
    // and aborts.
    void Add(const boost::asio::ip::address& network, int prefix_len, Value v);
    void Add(const Network& network, Value v);  // the same precondition on network.length

    // Parses one entry (ParseNetwork). On bad text returns false, adds nothing and, if `error`
    // is not null, sets it to "'<text>' is not an address or CIDR".
    bool AddText(std::string_view cidr, Value v, std::string* error);

    // A list file's text: one entry per line; '#' or ';' starts a comment (whole line or after
    // the entry), a UTF-8 byte-order mark is skipped; blank lines and surrounding spaces/tabs/CR
    // are ignored; `v` for every entry. On the first bad line returns false, adds nothing from
    // `text` (a bad reload does not leave half a list in the builder) and sets *error to "line N:
    // '<text>' is not an address or CIDR" (1-based N). The quoted text is the entry without comment
    // and spaces, at most 64 bytes (then "..."), bytes outside printable ASCII written as \xNN: the
    // message goes to logs.
    bool AddListText(std::string_view text, Value v, std::string* error);

    std::size_t size() const noexcept { return added_; }  // prefixes added, duplicates included
    // Entries whose host bits were set, which the caller may want to warn about: "10.1.2.3/8"
    // meant as a /32 would cover the whole /8.
    std::size_t with_host_bits() const noexcept { return with_host_bits_; }

    // Duplicates: the last Add for the same prefix wins. The builder is spent afterwards.
    PrefixTable Build() &&;

   private:
    struct V4 {
      std::uint32_t network;  // host order, host bits cleared
      std::uint8_t length;
      Value value;
    };
    struct V6 {
      std::uint64_t hi, lo;  // host bits cleared
      std::uint8_t length;
      Value value;
    };
    std::vector<V4> v4_;
    std::vector<V6> v6_;
    std::size_t added_ = 0;
    std::size_t with_host_bits_ = 0;
  };

  PrefixTable() = default;  // empty: every lookup is nullopt
  // Move-only: a big table is megabytes; copying one is never meant.
  PrefixTable(PrefixTable&&) noexcept = default;
  PrefixTable& operator=(PrefixTable&&) noexcept = default;
  PrefixTable(const PrefixTable&) = delete;
  PrefixTable& operator=(const PrefixTable&) = delete;

  // The value of the longest prefix that contains `addr`, or nullopt. IPv4-mapped IPv6 addresses
  // (::ffff:a.b.c.d) are looked up as IPv4, so IPv6 prefixes never match them (not even ::/0).
  std::optional<Value> Lookup(const boost::asio::ip::address& addr) const noexcept;
  std::optional<Value> LookupV4(std::uint32_t host_order) const noexcept;
  std::optional<Value> LookupV6(const std::array<std::uint8_t, 16>& bytes) const noexcept;

  std::size_t prefixes() const noexcept { return prefixes_; }  // distinct prefixes in the table
  std::size_t memory_bytes() const noexcept;                   // heap bytes the built table holds

 private:
  // Labels are a Value, or 0x100 for the gaps no prefix covers.
  // IPv4: v4_index_[b] .. v4_index_[b + 1] are the intervals whose start has top 16 bits b; each
  // is (start & 0xffff) << 16 | label. Both empty when the table has no IPv4 prefix.
  std::vector<std::uint32_t> v4_index_;
  std::vector<std::uint32_t> v4_intervals_;
  // IPv6: v6_index_[b] .. v6_index_[b + 1] are the intervals whose start's high half has top
  // v6_bits_ bits b. v6_keys_ holds that high half shifted left by v6_bits_ (the bucket implies
  // the bits shifted out), the label and a "low half is zero" bit in the freed low bits; v6_lo_
  // the low half.
  std::vector<std::uint32_t> v6_index_;
  std::vector<std::uint64_t> v6_keys_;
  std::vector<std::uint64_t> v6_lo_;
  int v6_bits_ = 0;
  std::size_t prefixes_ = 0;
};

}  // namespace rampart
