#include "gates/session/session_record.h"

#include <fmt/format.h>

#include "core/json_strict.h"
#include "core/secrets.h"
#include "core/strings.h"

namespace rampart::session {

std::string Encode(const Record& r) {
  std::string out = "{\"p\":\"";
  AppendJsonEscaped(out, r.principal);
  out += "\",\"r\":";
  AppendJsonStringList(out, r.roles);
  out += ",\"s\":";
  AppendJsonStringList(out, r.scopes);
  out += fmt::format(",\"c\":{},\"l\":{}}}", r.created, r.last);
  return out;
}

bool Decode(std::string_view json, Record& out) {
  thread_local StrictJson parser;
  simdjson::dom::element root;
  std::string_view error;
  if (!parser.Parse(json, root, error) || !root.is_object()) return false;
  const simdjson::dom::object o = AsObject(root);
  out.principal.assign(JsonString(o, "p"));
  auto c = o.at_key("c");
  auto l = o.at_key("l");
  return !out.principal.empty() && JsonStringList(o, "r", out.roles) &&
         JsonStringList(o, "s", out.scopes) && !c.error() &&
         !c.value_unsafe().get_int64().get(out.created) && !l.error() &&
         !l.value_unsafe().get_int64().get(out.last);
}

std::string PrincipalTag(std::string_view principal) {
  const Sha256Digest d = Sha256(principal);
  return Hex(d.data(), 8);
}

std::string SessionKey(std::string_view cookie) {
  return "s:" + Hex(Sha256(cookie.substr(0, cookie.find('.'))));
}
std::string PrincipalKey(std::string_view principal) { return "p:" + PrincipalTag(principal); }
std::string CutoffKey(std::string_view cookie) {
  const std::size_t dot = cookie.find('.');
  return "p:" +
         std::string(dot == std::string_view::npos ? std::string_view() : cookie.substr(dot + 1));
}

bool WellFormedId(std::string_view cookie) noexcept {
  if (cookie.size() != 43 + 1 + 16 || cookie[43] != '.') return false;
  for (std::size_t i = 0; i < cookie.size(); ++i) {
    const char c = cookie[i];
    if (i == 43) continue;
    const bool ok = i < 43 ? (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                 (c >= '0' && c <= '9') || c == '-' || c == '_'
                           : (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    if (!ok) return false;
  }
  return true;
}

}  // namespace rampart::session
