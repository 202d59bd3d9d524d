#include "gates/cache/entry_codec.h"

#include <chrono>
#include <cstdint>

namespace rampart::cache {

namespace {

using std::chrono::microseconds;
using std::chrono::system_clock;

constexpr std::uint8_t kVersion = 1;
constexpr std::uint64_t kMaxSeconds = std::uint64_t{1} << 31;  // the cache's delta-seconds bound
// The microseconds a system_clock time point holds (it counts nanoseconds in 64 bits).
constexpr std::int64_t kMinMicros =
    std::chrono::duration_cast<microseconds>(system_clock::time_point::min().time_since_epoch())
        .count();
constexpr std::int64_t kMaxMicros =
    std::chrono::duration_cast<microseconds>(system_clock::time_point::max().time_since_epoch())
        .count();

void PutFixed(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

std::uint64_t Micros(system_clock::time_point t) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<microseconds>(t.time_since_epoch()).count());
}

// RFC 9110 section 5.6.2.
bool IsToken(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// RFC 9110 section 5.5: no control bytes but tab (a stored CR or LF would split a hit's head).
bool IsFieldValue(std::string_view s) noexcept {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// Reads the encoding front to back; every read checks what is left first.
class Reader {
 public:
  explicit Reader(std::string_view in) noexcept : in_(in) {}

  bool Fixed(int bytes, std::uint64_t& v) noexcept {
    if (in_.size() < static_cast<std::size_t>(bytes)) return false;
    v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= std::uint64_t{static_cast<unsigned char>(in_[static_cast<std::size_t>(i)])} << (8 * i);
    }
    in_.remove_prefix(static_cast<std::size_t>(bytes));
    return true;
  }
  // The shortest form only (one encoding per value), at most 64 bits.
  bool Varint(std::uint64_t& v) noexcept {
    v = 0;
    for (int i = 0; i < 10 && i < static_cast<int>(in_.size()); ++i) {
      const auto b = static_cast<unsigned char>(in_[static_cast<std::size_t>(i)]);
      if (i == 9 && b > 1) return false;  // beyond 64 bits
      v |= std::uint64_t{b & 0x7fu} << (7 * i);
      if ((b & 0x80) == 0) {
        if (b == 0 && i > 0) return false;  // a longer form than needed
        in_.remove_prefix(static_cast<std::size_t>(i) + 1);
        return true;
      }
    }
    return false;  // truncated, or ten bytes that all continue
  }
  bool Seconds(std::chrono::seconds& s) noexcept {
    std::uint64_t v = 0;
    if (!Varint(v) || v > kMaxSeconds) return false;
    s = std::chrono::seconds(static_cast<std::int64_t>(v));
    return true;
  }
  bool Time(system_clock::time_point& t) noexcept {
    std::uint64_t v = 0;
    if (!Fixed(8, v)) return false;
    const auto us = static_cast<std::int64_t>(v);
    if (us < kMinMicros || us > kMaxMicros) return false;
    t = system_clock::time_point(
        std::chrono::duration_cast<system_clock::duration>(microseconds(us)));
    return true;
  }
  // A count of items that each take at least one byte: never more than the bytes left.
  bool Count(std::uint64_t& n) noexcept { return Varint(n) && n <= in_.size(); }
  bool Bytes(std::string_view& s) noexcept {
    std::uint64_t n = 0;
    if (!Varint(n) || n > in_.size()) return false;
    s = in_.substr(0, static_cast<std::size_t>(n));
    in_.remove_prefix(static_cast<std::size_t>(n));
    return true;
  }
  bool done() const noexcept { return in_.empty(); }

 private:
  std::string_view in_;
};

bool Strings(Reader& r, std::vector<std::string>& out, bool tokens) {
  std::uint64_t n = 0;
  if (!r.Count(n)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view s;
    if (!r.Bytes(s) || (tokens && !IsToken(s))) return false;
    out.emplace_back(s);
  }
  return true;
}

}  // namespace

void EncodeEntry(const CachedResponse& e, std::string& out) {
  std::size_t size = 64 + e.body.size() + e.vary_values.size();
  for (const auto& [name, value] : e.headers) size += name.size() + value.size() + 20;
  for (const std::string& n : e.vary_names) size += n.size() + 10;
  for (const std::string& t : e.tags) size += t.size() + 10;
  out.reserve(out.size() + size);
  out.push_back(static_cast<char>(kVersion));
  PutFixed(out, static_cast<std::uint16_t>(e.status), 2);
  PutFixed(out, Micros(e.request_time), 8);
  PutFixed(out, Micros(e.response_time), 8);
  PutVarint(out, static_cast<std::uint64_t>(e.lifetime.count()));
  PutVarint(out, static_cast<std::uint64_t>(e.stale_while_revalidate.count()));
  PutVarint(out, static_cast<std::uint64_t>(e.stale_if_error.count()));
  PutVarint(out, e.headers.size());
  for (const auto& [name, value] : e.headers) {
    PutBytes(out, name);
    PutBytes(out, value);
  }
  PutVarint(out, e.vary_names.size());
  for (const std::string& n : e.vary_names) PutBytes(out, n);
  PutBytes(out, e.vary_values);
  PutVarint(out, e.tags.size());
  for (const std::string& t : e.tags) PutBytes(out, t);
  PutBytes(out, e.body);
}

bool DecodeEntry(std::string_view in, CachedResponse& out) {
  Reader r(in);
  CachedResponse e;
  std::uint64_t v = 0;
  if (!r.Fixed(1, v) || v != kVersion) return false;
  if (!r.Fixed(2, v) || v < 100 || v > 999) return false;
  e.status = static_cast<int>(v);
  if (!r.Time(e.request_time) || !r.Time(e.response_time)) return false;
  if (!r.Seconds(e.lifetime) || !r.Seconds(e.stale_while_revalidate) ||
      !r.Seconds(e.stale_if_error)) {
    return false;
  }
  std::uint64_t n = 0;
  if (!r.Count(n)) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string_view name;
    std::string_view value;
    if (!r.Bytes(name) || !IsToken(name) || !r.Bytes(value) || !IsFieldValue(value)) return false;
    e.headers.emplace_back(name, value);
  }
  if (!Strings(r, e.vary_names, true)) return false;
  std::string_view bytes;
  if (!r.Bytes(bytes)) return false;
  e.vary_values.assign(bytes);
  if (!Strings(r, e.tags, false)) return false;
  if (!r.Bytes(bytes) || !r.done()) return false;
  e.body.assign(bytes);
  out = std::move(e);
  return true;
}

}  // namespace rampart::cache
