// Small string helpers used on the request path: ASCII only, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace rampart {

constexpr char AsciiLower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

namespace detail {

// Eight bytes with their ASCII capitals lowered at once (SWAR); every other byte, 0x80 and up
// included, is kept. Per byte (no carry crosses bytes: the low seven bits plus 0x3F stay below
// 0x100): bit 7 of low+0x3F is set from 'A' (0x41) up, bit 7 of low+0x25 from '[' (0x5B) up.
constexpr std::uint64_t Lower8(std::uint64_t x) noexcept {
  constexpr std::uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
  constexpr std::uint64_t kHigh = 0x8080808080808080ull;
  const std::uint64_t low = x & kLow7;
  const std::uint64_t from_a = low + 0x3F3F3F3F3F3F3F3Full;
  const std::uint64_t past_z = low + 0x2525252525252525ull;
  const std::uint64_t capital = from_a & ~past_z & ~x & kHigh;
  return x | (capital >> 2);  // 0x80 >> 2: the case bit
}

inline std::uint64_t Load8(const char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace detail

namespace detail {

// IEquals for two strings of the same length `n`.
constexpr bool IEqualsSameSize(const char* a, const char* b, std::size_t n) noexcept {
  if (std::is_constant_evaluated() || n < 8) {
    for (std::size_t i = 0; i < n; ++i) {
      if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
    }
    return true;
  }
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    if (Lower8(Load8(a + i)) != Lower8(Load8(b + i))) return false;
  }
  return Lower8(Load8(a + n - 8)) == Lower8(Load8(b + n - 8));
}

}  // namespace detail

// ASCII case-insensitive equality. Header names are compared with it on every request: the
// lengths are compared where it is called (most names differ there), and from eight bytes up
// the bytes eight at a time (the last eight overlapping the ones before).
constexpr bool IEquals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && detail::IEqualsSameSize(a.data(), b.data(), a.size());
}

constexpr bool IStartsWith(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && IEquals(s.substr(0, prefix.size()), prefix);
}

constexpr bool IEndsWith(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && IEquals(s.substr(s.size() - suffix.size()), suffix);
}

constexpr std::string_view TrimOws(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = AsciiLower(c);
  return out;
}

inline std::string ToUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  return out;
}

// Calls fn(token) for each comma-separated element of an HTTP list header, trimmed, skipping
// empty elements (RFC 9110 section 5.6.1).
template <typename Fn>
void ForEachListToken(std::string_view value, Fn&& fn) {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view token = TrimOws(value.substr(0, comma));
    if (!token.empty()) fn(token);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

// Calls fn(name, value) for each `name=value` element of a `sep`-separated list (a query string
// with '&', a Cookie header with ';'), each element trimmed of spaces and tabs; an element
// without '=' is all name, with an empty value. Stops when fn returns false.
template <typename Fn>
void ForEachPair(std::string_view s, char sep, Fn&& fn) {
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = i;
    while (j < s.size() && s[j] != sep) ++j;
    const std::string_view element = TrimOws(s.substr(i, j - i));
    i = j + 1;
    if (element.empty()) continue;
    std::size_t k = 0;
    while (k < element.size() && element[k] != '=') ++k;
    const bool go = k < element.size() ? fn(element.substr(0, k), element.substr(k + 1))
                                       : fn(element, std::string_view());
    if (!go) return;
  }
}

// Field names equal but for case, and '-' against '_': CGI, WSGI, PHP and Rack origins read both
// X-User and X_User as HTTP_X_USER, so a rule about one name must hold for both spellings.
inline bool SameFieldForCgi(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const char x = AsciiLower(a[i]), y = AsciiLower(b[i]);
    if (x != y && !((x == '-' || x == '_') && (y == '-' || y == '_'))) return false;
  }
  return true;
}

// Whether a query parameter's name as sent names `want` once percent-decoded ('+' is a space),
// as the origin's form decoder will read it: `access%5Ftoken` is `access_token`. A gate that
// reads or removes a parameter matches it this way, so no spelling slips past it to the origin.
bool QueryNameIs(std::string_view raw, std::string_view want) noexcept;

// The byte the escape "%hh" at `i` stands for, or -1 when there is no such escape at `i`.
int EscapedByteAt(std::string_view s, std::size_t i) noexcept;

// A query value as a form decoder reads it: "%hh" is the byte, '+' a space; a '%' not followed
// by two hex digits is itself. Into `out` (replaced).
void PercentDecode(std::string_view raw, std::string& out);

// Appends `from` to `to` and leaves `from` empty; no copy when `to` is empty (the buffers swap).
inline void MoveAppend(std::string& to, std::string& from) {
  if (to.empty())
    to.swap(from);
  else
    to.append(from);
  from.clear();
}

// Appends s to out as the inside of a JSON string (quotes not included).
void AppendJsonEscaped(std::string& out, std::string_view s);
// s as a JSON string, quotes included; a list of strings as a JSON array.
void AppendJsonString(std::string& out, std::string_view s);
void AppendJsonStringList(std::string& out, const std::vector<std::string>& list);

}  // namespace rampart
