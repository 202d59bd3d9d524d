#include "core/prefix_table.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

namespace rampart {
namespace {

using Value = PrefixTable::Value;

// GCC and Clang's 128-bit integer; __extension__ keeps -Wpedantic quiet about it. Only the build
// uses it, to sweep IPv6 intervals with plain arithmetic.
__extension__ typedef unsigned __int128 Uint128;

// Labels: a Value, or kNoneLabel for the gaps no prefix covers; 9 bits.
constexpr std::uint16_t kNoneLabel = 0x100;
constexpr std::uint64_t kLabelBits = 0x1ff;
// In an IPv6 key, above the label: the start's low half is zero (the start of a prefix of /64 or
// shorter, or what follows one), so a lookup that ties on the high half can skip v6_lo_.
constexpr std::uint64_t kLowHalfZero = 0x200;
constexpr int kMinV6Bits = 10;  // the label and kLowHalfZero
constexpr std::size_t kMaxQuotedBytes = 64;

// ---- Text ----------------------------------------------------------------------------------

constexpr bool IsDigit(char c) noexcept { return c >= '0' && c <= '9'; }

constexpr int HexDigit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A decimal number of 1..3 digits without a leading zero (except "0" itself); -1 if not.
int ParseSmallDecimal(std::string_view s) noexcept {
  if (s.empty() || s.size() > 3 || (s[0] == '0' && s.size() > 1)) return -1;
  int v = 0;
  for (char c : s) {
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Exactly four decimal octets, as inet_pton(AF_INET) reads them.
bool ParseV4(std::string_view s, std::uint8_t* out) noexcept {
  for (int i = 0; i < 4; ++i) {
    std::size_t dot = i < 3 ? s.find('.') : s.size();
    if (dot == std::string_view::npos) return false;
    int octet = ParseSmallDecimal(s.substr(0, dot));
    if (octet < 0 || octet > 255) return false;
    out[i] = static_cast<std::uint8_t>(octet);
    s.remove_prefix(i < 3 ? dot + 1 : dot);
  }
  return true;
}

// RFC 4291 section 2.2 text, as inet_pton(AF_INET6) reads it: groups of 1..4 hex digits, at most
// one "::" standing for at least one zero group, optionally ending in a dotted IPv4 address.
bool ParseV6(std::string_view s, std::uint8_t* out) noexcept {
  std::uint8_t b[16] = {};
  int n = 0;     // bytes filled
  int gap = -1;  // where "::" stands, in bytes
  std::size_t i = 0;
  if (s.size() >= 2 && s[0] == ':' && s[1] == ':') {
    gap = 0;
    i = 2;
  }
  while (i < s.size()) {
    const std::size_t start = i;
    unsigned group = 0;
    while (i < s.size() && i - start < 5 && HexDigit(s[i]) >= 0) {
      group = group << 4 | static_cast<unsigned>(HexDigit(s[i]));
      ++i;
    }
    if (i == start || i - start > 4) return false;
    if (i < s.size() && s[i] == '.') {  // the dotted IPv4 tail: the rest of the text
      if (n + 4 > 16 || !ParseV4(s.substr(start), b + n)) return false;
      n += 4;
      break;
    }
    if (n + 2 > 16) return false;
    b[n++] = static_cast<std::uint8_t>(group >> 8);
    b[n++] = static_cast<std::uint8_t>(group);
    if (i == s.size()) break;
    if (s[i] != ':' || ++i == s.size()) return false;  // no single trailing ':'
    if (s[i] == ':') {
      if (gap >= 0) return false;
      gap = n;
      ++i;
    }
  }
  if (gap >= 0) {
    if (n == 16) return false;
    const int tail = n - gap;
    std::memmove(b + 16 - tail, b + gap, static_cast<std::size_t>(tail));
    std::memset(b + gap, 0, static_cast<std::size_t>(16 - tail - gap));
  } else if (n != 16) {
    return false;
  }
  std::memcpy(out, b, 16);
  return true;
}

// The entry as it goes into an error message: bounded, printable ASCII only.
std::string Quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (std::size_t i = 0; i < text.size() && i < kMaxQuotedBytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  if (text.size() > kMaxQuotedBytes) out += "...";
  out += "' is not an address or CIDR";
  return out;
}

constexpr bool IsBlank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view EntryOfLine(std::string_view line) noexcept {
  // '#' comments, and ';' ones as feeds such as Spamhaus DROP write them ("1.10.16.0/20 ; SBL1").
  line = line.substr(0, line.find_first_of("#;"));              // npos: all of it
  if (line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);  // a UTF-8 byte-order mark
  while (!line.empty() && IsBlank(line.front())) line.remove_prefix(1);
  while (!line.empty() && IsBlank(line.back())) line.remove_suffix(1);
  return line;
}

// ---- Bits ----------------------------------------------------------------------------------

template <class Key>
constexpr int kBitsOf = static_cast<int>(sizeof(Key) * 8);

// The host part of a prefix of `length` bits; lengths 0..width.
template <class Key>
constexpr Key HostMask(int length) noexcept {
  return length >= kBitsOf<Key> ? Key{0} : static_cast<Key>(~Key{0}) >> length;
}

std::uint64_t LoadBigEndian64(const std::uint8_t* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}

bool IsV4Mapped(std::uint64_t hi, std::uint64_t lo) noexcept {
  return hi == 0 && (lo >> 32) == 0xffff;
}

std::optional<Value> ToValue(std::uint32_t label) noexcept {
  if (label >= kNoneLabel) return std::nullopt;
  return static_cast<Value>(label);
}

// Branch-free searches over a small sorted range (the index leaves a few entries): conditional
// moves instead of mispredicted branches. The first element > key, and >= key.
template <class T>
const T* UpperBound(const T* first, std::size_t n, T key) noexcept {
  while (n > 1) {
    const std::size_t half = n / 2;
    first = first[half] <= key ? first + half : first;
    n -= half;
  }
  return first + (n == 1 && *first <= key ? 1 : 0);
}

template <class T>
const T* LowerBound(const T* first, std::size_t n, T key) noexcept {
  while (n > 1) {
    const std::size_t half = n / 2;
    first = first[half] < key ? first + half : first;
    n -= half;
  }
  return first + (n == 1 && *first < key ? 1 : 0);
}

// A bucket of a few cache lines: ask for all of them at once, so their misses overlap instead
// of coming one after the other as the search moves. Bigger buckets (skewed data) are left to
// the search.
template <class T>
void PrefetchRange(const T* first, std::size_t n) noexcept {
  constexpr std::size_t kLine = 64;
  if (n == 0 || n * sizeof(T) > 4 * kLine) return;
  const char* const begin = reinterpret_cast<const char*>(first);
  const char* const last = reinterpret_cast<const char*>(first + n) - 1;
  for (const char* p = begin; p < last; p += kLine) __builtin_prefetch(p);
  __builtin_prefetch(last);  // the loop's steps can skip over the last line's start
}

// ---- Build ---------------------------------------------------------------------------------

template <class Key>
struct Pending {
  Key start;  // host bits cleared
  std::uint8_t length;
  Value value;
};

template <class Key>
struct Interval {
  Key start;
  std::uint16_t label;
};

template <class Key>
void Emit(std::vector<Interval<Key>>& out, Key start, std::uint16_t label) {
  // A later event at the same address supersedes an earlier one: closing prefixes, then opening
  // one that starts right after them.
  if (!out.empty() && out.back().start == start) out.pop_back();
  if (!out.empty() && out.back().label == label) return;  // merge equal neighbours
  out.push_back({start, label});
}

// Sorted disjoint intervals covering the whole space, the first starting at 0, each labelled with
// its most specific prefix's value. `prefixes` is consumed; *distinct gets the distinct count.
template <class Key>
std::vector<Interval<Key>> Flatten(std::vector<Pending<Key>>& prefixes, std::size_t* distinct) {
  // Stable, so equal prefixes keep their order and the last added is the last of its run.
  std::stable_sort(prefixes.begin(), prefixes.end(),
                   [](const Pending<Key>& a, const Pending<Key>& b) {
                     return a.start != b.start ? a.start < b.start : a.length < b.length;
                   });
  struct Open {
    Key end;
    std::uint16_t label;
  };
  std::vector<Open> open;  // nested prefixes, outermost first: at most width + 1 deep
  open.reserve(kBitsOf<Key> + 1);
  std::vector<Interval<Key>> out;
  out.reserve(2 * prefixes.size() + 1);
  Emit<Key>(out, Key{0}, kNoneLabel);
  *distinct = 0;
  for (std::size_t i = 0; i < prefixes.size(); ++i) {
    const Pending<Key>& p = prefixes[i];
    if (i + 1 < prefixes.size() && prefixes[i + 1].start == p.start &&
        prefixes[i + 1].length == p.length) {
      continue;  // a later duplicate wins
    }
    ++*distinct;
    // Prefixes either nest or are disjoint: close those that end before this one starts; the
    // one left on top (if any) contains it.
    while (!open.empty() && open.back().end < p.start) {
      const Key next = static_cast<Key>(open.back().end + 1);
      open.pop_back();
      Emit(out, next, open.empty() ? kNoneLabel : open.back().label);
    }
    open.push_back({static_cast<Key>(p.start | HostMask<Key>(p.length)), p.value});
    Emit(out, p.start, p.value);
  }
  while (!open.empty()) {
    const Key end = open.back().end;
    open.pop_back();
    if (end == static_cast<Key>(~Key{0})) break;  // the enclosing ones end there too
    Emit(out, static_cast<Key>(end + 1), open.empty() ? kNoneLabel : open.back().label);
  }
  prefixes.clear();
  prefixes.shrink_to_fit();
  return out;
}

// index[b] = the first interval whose bucket is >= b, for b in 0..buckets.
template <class Key, class BucketOf>
std::vector<std::uint32_t> BuildIndex(const std::vector<Interval<Key>>& intervals,
                                      std::size_t buckets, BucketOf bucket_of) {
  std::vector<std::uint32_t> index(buckets + 1);
  std::size_t i = 0;
  for (std::size_t b = 0; b <= buckets; ++b) {
    while (i < intervals.size() && bucket_of(intervals[i].start) < b) ++i;
    index[b] = static_cast<std::uint32_t>(i);
  }
  return index;
}

template <class T>
std::size_t HeapBytes(const std::vector<T>& v) noexcept {
  return v.capacity() * sizeof(T);
}

}  // namespace

// ---- PrefixTable ---------------------------------------------------------------------------

std::optional<PrefixTable::Network> PrefixTable::ParseNetwork(std::string_view text) noexcept {
  std::string_view address = text;
  int length = -1;
  if (std::size_t slash = text.find('/'); slash != std::string_view::npos) {
    address = text.substr(0, slash);
    length = ParseSmallDecimal(text.substr(slash + 1));
    if (length < 0) return std::nullopt;
  }
  Network n;
  n.is_v6 = address.find(':') != std::string_view::npos;
  if (n.is_v6 ? !ParseV6(address, n.bytes.data()) : !ParseV4(address, n.bytes.data())) {
    return std::nullopt;
  }
  const int width = n.is_v6 ? 128 : 32;
  if (length > width) return std::nullopt;
  n.length = length < 0 ? width : length;
  if (n.is_v6) {
    std::uint64_t hi = LoadBigEndian64(n.bytes.data());
    std::uint64_t lo = LoadBigEndian64(n.bytes.data() + 8);
    if (n.length >= 96 && IsV4Mapped(hi, lo)) {
      n.is_v6 = false;
      n.length -= 96;
      std::memmove(n.bytes.data(), n.bytes.data() + 12, 4);
      std::memset(n.bytes.data() + 4, 0, 12);
    }
  }
  // Clear the host bits, byte by byte.
  const int bytes = n.is_v6 ? 16 : 4;
  for (int i = 0; i < bytes; ++i) {
    const int kept = std::clamp(n.length - 8 * i, 0, 8);
    const auto mask = static_cast<std::uint8_t>(0xff00u >> kept);
    if (n.bytes[i] & ~mask) n.had_host_bits = true;
    n.bytes[i] &= mask;
  }
  return n;
}

void PrefixTable::Builder::Add(const boost::asio::ip::address& network, int prefix_len, Value v) {
  Network n;
  n.is_v6 = network.is_v6();
  n.length = prefix_len;
  if (n.is_v6) {
    n.bytes = network.to_v6().to_bytes();
  } else {
    const auto b = network.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), n.bytes.begin());
  }
  Add(n, v);
}

void PrefixTable::Builder::Add(const Network& network, Value v) {
  int length = network.length;
  if (length < 0 || length > (network.is_v6 ? 128 : 32)) std::abort();  // see the header
  ++added_;
  if (network.is_v6) {
    const std::uint64_t hi = LoadBigEndian64(network.bytes.data());
    const std::uint64_t lo = LoadBigEndian64(network.bytes.data() + 8);
    if (length < 96 || !IsV4Mapped(hi, lo)) {
      const Uint128 start = Uint128{hi} << 64 | lo;
      const Uint128 kept = start & ~HostMask<Uint128>(length);
      if (kept != start || network.had_host_bits) ++with_host_bits_;
      v6_.push_back({static_cast<std::uint64_t>(kept >> 64), static_cast<std::uint64_t>(kept),
                     static_cast<std::uint8_t>(length), v});
      return;
    }
    length -= 96;  // IPv4-mapped: an IPv4 prefix, see Network
    const auto a = static_cast<std::uint32_t>(lo);
    const std::uint32_t kept = a & ~HostMask<std::uint32_t>(length);
    if (kept != a || network.had_host_bits) ++with_host_bits_;
    v4_.push_back({kept, static_cast<std::uint8_t>(length), v});
    return;
  }
  const std::uint32_t a = static_cast<std::uint32_t>(network.bytes[0]) << 24 |
                          static_cast<std::uint32_t>(network.bytes[1]) << 16 |
                          static_cast<std::uint32_t>(network.bytes[2]) << 8 | network.bytes[3];
  const std::uint32_t kept = a & ~HostMask<std::uint32_t>(length);
  if (kept != a || network.had_host_bits) ++with_host_bits_;
  v4_.push_back({kept, static_cast<std::uint8_t>(length), v});
}

bool PrefixTable::Builder::AddText(std::string_view cidr, Value v, std::string* error) {
  std::optional<Network> n = ParseNetwork(cidr);
  if (!n) {
    if (error) *error = Quote(cidr);
    return false;
  }
  Add(*n, v);
  return true;
}

bool PrefixTable::Builder::AddListText(std::string_view text, Value v, std::string* error) {
  const std::size_t v4_mark = v4_.size(), v6_mark = v6_.size();
  const std::size_t added_mark = added_, host_bits_mark = with_host_bits_;
  std::size_t line_number = 0;
  while (true) {
    ++line_number;
    const std::size_t newline = text.find('\n');
    const std::string_view entry = EntryOfLine(text.substr(0, newline));
    if (!entry.empty()) {
      std::optional<Network> n = ParseNetwork(entry);
      if (!n) {
        v4_.resize(v4_mark);
        v6_.resize(v6_mark);
        added_ = added_mark;
        with_host_bits_ = host_bits_mark;
        if (error) *error = "line " + std::to_string(line_number) + ": " + Quote(entry);
        return false;
      }
      Add(*n, v);
    }
    if (newline == std::string_view::npos) return true;
    text.remove_prefix(newline + 1);
  }
}

PrefixTable PrefixTable::Builder::Build() && {
  PrefixTable table;
  std::vector<Pending<std::uint32_t>> v4;
  v4.reserve(v4_.size());
  for (const V4& p : v4_) v4.push_back({p.network, p.length, p.value});
  v4_ = {};
  std::vector<Pending<Uint128>> v6;
  v6.reserve(v6_.size());
  for (const V6& p : v6_) v6.push_back({Uint128{p.hi} << 64 | p.lo, p.length, p.value});
  v6_ = {};
  added_ = with_host_bits_ = 0;

  if (!v4.empty()) {
    std::size_t distinct = 0;
    const std::vector<Interval<std::uint32_t>> intervals = Flatten(v4, &distinct);
    table.prefixes_ += distinct;
    table.v4_index_ =
        BuildIndex(intervals, std::size_t{1} << 16, [](std::uint32_t s) { return s >> 16; });
    table.v4_intervals_.reserve(intervals.size());
    for (const auto& iv : intervals) table.v4_intervals_.push_back(iv.start << 16 | iv.label);
  }
  if (!v6.empty()) {
    std::size_t distinct = 0;
    const std::vector<Interval<Uint128>> intervals = Flatten(v6, &distinct);
    table.prefixes_ += distinct;
    // About four to eight intervals per bucket when the starts spread evenly; at least the bits
    // the label and kLowHalfZero take once they are shifted out of the keys.
    const int bits =
        std::clamp(static_cast<int>(std::bit_width(intervals.size())) - 3, kMinV6Bits, 20);
    table.v6_bits_ = bits;
    table.v6_index_ = BuildIndex(intervals, std::size_t{1} << bits, [bits](Uint128 s) {
      return static_cast<std::size_t>(static_cast<std::uint64_t>(s >> 64) >> (64 - bits));
    });
    table.v6_keys_.reserve(intervals.size());
    table.v6_lo_.reserve(intervals.size());
    for (const auto& iv : intervals) {
      const auto low_half = static_cast<std::uint64_t>(iv.start);
      table.v6_keys_.push_back(static_cast<std::uint64_t>(iv.start >> 64) << bits | iv.label |
                               (low_half == 0 ? kLowHalfZero : 0));
      table.v6_lo_.push_back(static_cast<std::uint64_t>(iv.start));
    }
  }
  return table;
}

std::optional<PrefixTable::Value> PrefixTable::Lookup(
    const boost::asio::ip::address& addr) const noexcept {
  if (addr.is_v4()) return LookupV4(addr.to_v4().to_uint());
  return LookupV6(addr.to_v6().to_bytes());
}

std::optional<PrefixTable::Value> PrefixTable::LookupV4(std::uint32_t host_order) const noexcept {
  if (v4_intervals_.empty()) return std::nullopt;
  const std::uint32_t bucket = host_order >> 16;
  const std::uint32_t first = v4_index_[bucket];
  const std::uint32_t* const data = v4_intervals_.data();
  PrefetchRange(data + first, v4_index_[bucket + 1] - first);
  // An interval is <= the probe when the low 16 bits of its start (its high half) are <= the
  // address's: its label (low half) never exceeds the probe's 0xffff.
  const std::uint32_t* p =
      UpperBound(data + first, v4_index_[bucket + 1] - first, host_order << 16 | 0xffffu);
  // p > data: interval 0 starts at 0.0.0.0, so it is <= any probe of bucket 0, and every later
  // bucket's range starts past it. p[-1] may be the previous bucket's last interval: the one
  // that runs into this bucket.
  return ToValue(p[-1] & 0xffffu);
}

std::optional<PrefixTable::Value> PrefixTable::LookupV6(
    const std::array<std::uint8_t, 16>& bytes) const noexcept {
  const std::uint64_t hi = LoadBigEndian64(bytes.data());
  const std::uint64_t lo = LoadBigEndian64(bytes.data() + 8);
  if (IsV4Mapped(hi, lo)) return LookupV4(static_cast<std::uint32_t>(lo));
  if (v6_keys_.empty()) return std::nullopt;
  const std::size_t bucket = static_cast<std::size_t>(hi >> (64 - v6_bits_));
  const std::uint32_t first = v6_index_[bucket];
  const std::uint32_t n = v6_index_[bucket + 1] - first;
  const std::uint64_t* const keys = v6_keys_.data();
  PrefetchRange(keys + first, n);
  // As for IPv4: keys compare by their high-half bits, the label bits below never reach the
  // probe's ones, and p >= 1.
  const std::uint64_t key = hi << v6_bits_;
  const std::uint64_t low_bits = (std::uint64_t{1} << v6_bits_) - 1;
  std::size_t p = static_cast<std::size_t>(UpperBound(keys + first, n, key | low_bits) - keys);
  // Starts sharing the key's high half are all in this bucket, just before p: order those by the
  // low half. Unless the last of them has a zero low half: then it is the only one (starts are
  // distinct and sorted), and any address is at or past it. That is the usual case, an address in
  // a prefix of /64 or shorter with no longer prefix in its /64, and it saves a cache miss.
  if (p > first && (keys[p - 1] & ~low_bits) == key && !(keys[p - 1] & kLowHalfZero)) {
    const std::size_t q = static_cast<std::size_t>(LowerBound(keys + first, p - first, key) - keys);
    const std::uint64_t* const los = v6_lo_.data();
    p = static_cast<std::size_t>(UpperBound(los + q, p - q, lo) - los);
  }
  return ToValue(static_cast<std::uint32_t>(keys[p - 1] & kLabelBits));
}

std::size_t PrefixTable::memory_bytes() const noexcept {
  return HeapBytes(v4_index_) + HeapBytes(v4_intervals_) + HeapBytes(v6_index_) +
         HeapBytes(v6_keys_) + HeapBytes(v6_lo_);
}

}  // namespace rampart
