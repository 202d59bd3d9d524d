#include "http/h2/fields.h"

#include "core/strings.h"

namespace rampart::http::h2 {

bool IsConnectionSpecific(std::string_view n) noexcept {
  return n == "connection" || n == "keep-alive" || n == "proxy-connection" ||
         n == "transfer-encoding" || n == "upgrade";
}

void ResponseHeadToFields(std::string_view head, std::vector<Field>& out, std::string& names) {
  out.clear();
  names.clear();
  names.reserve(head.size());
  auto eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  // "HTTP/1.1 200 OK": the code is the second token.
  std::string_view code = status_line.size() >= 12 ? status_line.substr(9, 3) : "502";
  out.push_back({":status", code});
  std::size_t pos = eol == std::string_view::npos ? head.size() : eol + 2;
  while (pos < head.size()) {
    eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    const std::size_t start = names.size();
    for (char c : line.substr(0, colon)) names.push_back(AsciiLower(c));
    std::string_view name(names.data() + start, colon);
    if (IsConnectionSpecific(name)) {
      names.resize(start);
      continue;
    }
    out.push_back({name, value});
  }
}

bool AuthorityConflicts(std::string_view authority, std::string_view host) noexcept {
  return !authority.empty() && !host.empty() && !IEquals(authority, host);
}

}  // namespace rampart::http::h2
