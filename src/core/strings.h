// Small string helpers used on the request path: ASCII only, no allocation.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rampart {

constexpr char AsciiLower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

constexpr bool IEquals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
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
