#include "gates/idempotency/record.h"

#include <fmt/format.h>

#include <charconv>

namespace rampart::idempotency {

namespace {

constexpr std::string_view kMagic = "RI1 ";

bool IsHex(std::string_view s) noexcept {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsHex64(std::string_view s) noexcept { return s.size() == 64 && IsHex(s); }

// The next space-separated word of `s` (advanced past it and one space).
std::string_view Word(std::string_view& s) noexcept {
  const std::size_t sp = s.find(' ');
  std::string_view w = s.substr(0, sp);
  s = sp == std::string_view::npos ? std::string_view() : s.substr(sp + 1);
  return w;
}

template <typename N>
bool Number(std::string_view w, N& out) noexcept {
  // Digits only (no sign), no leading zero: one encoding per number.
  if (w.empty() || w.size() > 20 || (w.size() > 1 && w[0] == '0')) return false;
  for (char c : w) {
    if (c < '0' || c > '9') return false;
  }
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), out);
  return ec == std::errc() && p == w.data() + w.size();
}

bool KeyIdChars(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool ParseKey(std::string_view field, std::size_t max_length, std::string& key) {
  key.clear();
  if (field.size() >= 2 && field.front() == '"') {
    if (field.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < field.size(); ++i) {  // RFC 8941 section 3.3.3
      char c = field[i];
      if (c == '\\') {
        if (i + 2 >= field.size()) return false;
        c = field[++i];
        if (c != '"' && c != '\\') return false;
      } else if (c == '"' || c < 0x20 || c > 0x7e) {
        return false;
      }
      key.push_back(c);
    }
  } else {
    for (char c : field) {
      if (c <= 0x20 || c > 0x7e || c == '"' || c == '\\' || c == ',' || c == ';') return false;
    }
    key.assign(field);
  }
  return !key.empty() && key.size() <= max_length;
}

std::string EncodeInFlight(std::uint64_t token, std::string_view fingerprint,
                           std::string_view nonce) {
  return fmt::format("{}F {} {} {}", kMagic, token, fingerprint, nonce);
}

std::string EncodeAnswered(std::uint64_t token, std::string_view fingerprint,
                           std::string_view nonce, int status, std::int64_t since_ms) {
  return fmt::format("{}P {} {} {} {} {}", kMagic, token, fingerprint, nonce, status, since_ms);
}

std::string DoneHead(std::uint64_t token, std::string_view fingerprint, std::string_view key_id) {
  return fmt::format("{}D {} {} {}\n", kMagic, token, fingerprint, key_id);
}

std::string EncodeNoReplay(std::uint64_t token, std::string_view fingerprint, int status) {
  return fmt::format("{}N {} {} {}", kMagic, token, fingerprint, status);
}

bool DecodeRecord(std::string_view bytes, Record& out) {
  out = Record{};
  if (!bytes.starts_with(kMagic) || bytes.size() < kMagic.size() + 2) return false;
  bytes.remove_prefix(kMagic.size());
  std::string_view head = bytes;
  std::string_view rest;
  if (bytes[0] == 'D') {
    const std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) return false;
    head = bytes.substr(0, nl);
    rest = bytes.substr(nl + 1);
  }
  // Words are separated by exactly one space: one encoding per record (a trailing or doubled
  // space would decode to the same record as the bytes its writer compares against).
  if (head.empty() || head.back() == ' ' || head.find("  ") != std::string_view::npos) {
    return false;
  }
  const std::string_view state = Word(head);
  if (state.size() != 1) return false;
  if (!Number(Word(head), out.token)) return false;
  const std::string_view fp = Word(head);
  if (!IsHex64(fp)) return false;
  out.fingerprint.assign(fp);
  switch (state[0]) {
    case 'F':
    case 'P': {
      out.state = state[0] == 'F' ? State::kInFlight : State::kAnswered;
      const std::string_view nonce = Word(head);
      if (nonce.size() != 16 || !IsHex(nonce)) return false;
      out.nonce.assign(nonce);
      if (out.state == State::kInFlight) return head.empty();
      if (!Number(Word(head), out.status) || out.status < 100 || out.status > 999) return false;
      return Number(Word(head), out.since_ms) && head.empty();
    }
    case 'D': {
      out.state = State::kDone;
      const std::string_view id = Word(head);
      if (!head.empty() || !(id == "-" || KeyIdChars(id))) return false;
      out.key_id.assign(id);
      out.sealed = rest;
      return true;
    }
    case 'N': {
      out.state = State::kNoReplay;
      const std::string_view st = Word(head);
      if (st != "0" && (!Number(st, out.status) || out.status < 100 || out.status > 999)) {
        return false;
      }
      return head.empty();
    }
    default:
      return false;
  }
}

void AppendResponse(std::string& out, int status,
                    const std::vector<std::pair<std::string, std::string>>& headers,
                    std::string_view body) {
  std::size_t size = out.size() + 8 + body.size();
  for (const auto& [n, v] : headers) size += n.size() + v.size() + 4;
  out.reserve(size);
  fmt::format_to(std::back_inserter(out), "{}\r\n", status);
  for (const auto& [n, v] : headers) {
    out.append(n).append(": ").append(v).append("\r\n");
  }
  out.append("\r\n");
  out.append(body);
}

std::string EncodeResponse(int status,
                           const std::vector<std::pair<std::string, std::string>>& headers,
                           std::string_view body) {
  std::string out;
  AppendResponse(out, status, headers, body);
  return out;
}

bool DecodeResponse(std::string_view bytes, Response& out) {
  out = Response{};
  std::size_t eol = bytes.find("\r\n");
  if (eol == std::string_view::npos || !Number(bytes.substr(0, eol), out.status) ||
      out.status < 100 || out.status > 999) {
    return false;
  }
  bytes.remove_prefix(eol + 2);
  for (;;) {
    eol = bytes.find("\r\n");
    if (eol == std::string_view::npos) return false;
    const std::string_view line = bytes.substr(0, eol);
    bytes.remove_prefix(eol + 2);
    if (line.empty()) break;
    const std::size_t colon = line.find(": ");
    if (colon == 0 || colon == std::string_view::npos) return false;
    const std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t\r\n:") != std::string_view::npos) return false;
    const std::string_view value = line.substr(colon + 2);
    if (value.find_first_of("\r\n") != std::string_view::npos) return false;
    out.headers.emplace_back(name, value);
  }
  out.body.assign(bytes);
  return true;
}

}  // namespace rampart::idempotency
