#include "gates/api_key/key_record.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

#include "core/json_strict.h"
#include "core/strings.h"

namespace rampart::api_key {

namespace {

bool ReadInt(simdjson::dom::object o, std::string_view key, std::int64_t& out) {
  auto v = o.at_key(key);
  if (v.error()) return true;
  return !v.value_unsafe().get_int64().get(out);
}

}  // namespace

bool ValidId(std::string_view id) noexcept {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ToJson(const ApiKey& k, bool with_hash) {
  std::string out = "{\"id\":";
  AppendJsonString(out, k.id);
  if (with_hash) out += ",\"sha256\":\"" + Hex(k.hash) + "\"";
  out += ",\"principal\":";
  AppendJsonString(out, k.principal);
  out += ",\"tier\":";
  AppendJsonString(out, k.tier);
  out += ",\"roles\":";
  AppendJsonStringList(out, k.roles);
  out += ",\"scopes\":";
  AppendJsonStringList(out, k.scopes);
  out += fmt::format(",\"expires\":{},\"created\":{}}}", k.expires, k.created);
  return out;
}

bool FromJson(std::string_view json, ApiKey& out, std::string& error) {
  thread_local StrictJson parser;
  simdjson::dom::element root;
  std::string_view e;
  if (!parser.Parse(json, root, e) || !root.is_object()) {
    error = "not a JSON object";
    return false;
  }
  const simdjson::dom::object o = AsObject(root);
  out.id.assign(JsonString(o, "id"));
  out.principal.assign(JsonString(o, "principal"));
  out.tier.assign(JsonString(o, "tier"));
  bool has_hash = false;
  const std::string_view hash = JsonString(o, "sha256", &has_hash);
  if (has_hash && !ParseSha256Hex(hash, out.hash)) {
    error = "sha256 is not 64 hex digits";
    return false;
  }
  if (!JsonStringList(o, "roles", out.roles) || !JsonStringList(o, "scopes", out.scopes) ||
      !ReadInt(o, "expires", out.expires) || !ReadInt(o, "created", out.created)) {
    error = "roles and scopes are lists of strings, expires and created integers";
    return false;
  }
  if (out.principal.empty()) {
    error = "no principal";
    return false;
  }
  return true;
}

bool ParseExpiry(std::string_view text, std::int64_t& out) {
  if (text.empty()) return false;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    return std::from_chars(text.data(), text.data() + text.size(), out).ec == std::errc{};
  }
  // RFC 3339 in UTC, seconds precision: YYYY-MM-DDTHH:MM:SSZ.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' ||
      (text[10] != 'T' && text[10] != 't') || text[13] != ':' || text[16] != ':' ||
      (text[19] != 'Z' && text[19] != 'z')) {
    return false;
  }
  auto num = [&](std::size_t at, std::size_t n, int& v) {
    return std::from_chars(text.data() + at, text.data() + at + n, v).ec == std::errc{};
  };
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, 2, s) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
    return false;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  out = static_cast<std::int64_t>(timegm(&tm));
  return true;
}

}  // namespace rampart::api_key
