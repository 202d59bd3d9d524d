#include "http/request_target.h"

#include <fmt/format.h>

#include <iterator>

namespace rampart::http {

void SplitTarget(std::string_view target, std::string_view& authority, std::string_view& path,
                 std::string_view& query) {
  authority = {};
  if (!target.empty() && target[0] != '/') {
    if (target == "*") {
      path = target;
      query = {};
      return;
    }
    auto scheme_end = target.find("://");
    std::string_view rest = target.substr(scheme_end + 3);
    auto slash = rest.find_first_of("/?");
    authority = rest.substr(0, slash);
    target = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  }
  auto q = target.find('?');
  path = target.substr(0, q);
  query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
}

std::string_view StripPort(std::string_view host) {
  if (host.starts_with("[")) {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool HasDotSegment(std::string_view path) {
  std::size_t i = 0;
  while (i < path.size()) {
    auto next = path.find('/', i + 1);
    std::string_view seg =
        path.substr(i + 1, next == std::string_view::npos ? std::string_view::npos : next - i - 1);
    if (seg == "." || seg == "..") return true;
    if (next == std::string_view::npos) break;
    i = next;
  }
  return false;
}

void AppendChunk(std::string& out, std::string_view data) {
  fmt::format_to(std::back_inserter(out), "{:x}\r\n", data.size());
  out.append(data);
  out.append("\r\n");
}

}  // namespace rampart::http
