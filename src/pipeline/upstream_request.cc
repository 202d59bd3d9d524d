#include "pipeline/upstream_request.h"

#include <algorithm>
#include <charconv>

#include "core/strings.h"

namespace rampart {

http::UpstreamRequest MakeUpstreamRequest(const CompiledRoute& route, const Exchange& ex,
                                          const Site& site, std::string_view client_ip,
                                          std::string_view received_protocol, std::string& target) {
  target.clear();
  if (route.config->path_prefix_rewrite) {
    const std::string& matched = route.config->match.path_prefix ? *route.config->match.path_prefix
                                                                 : *route.config->match.path;
    target = *route.config->path_prefix_rewrite;
    std::string_view rest = ex.path.substr(std::min(matched.size(), ex.path.size()));
    if (target.ends_with('/') && rest.starts_with('/')) rest.remove_prefix(1);
    target.append(rest);
    if (target.empty()) target = "/";
  } else {
    target.append(ex.path);
  }
  if (!ex.query.empty() && ex.query_remove.empty()) {
    target.push_back('?');
    target.append(ex.query);
  } else if (!ex.query.empty()) {
    // Parameters a gate took out (a token) are not forwarded; the others keep their order and
    // their bytes.
    const std::size_t start = target.size();
    std::string_view q = ex.query;
    while (!q.empty()) {
      const std::size_t amp = std::min(q.find('&'), q.size());
      const std::string_view param = q.substr(0, amp);
      q.remove_prefix(std::min(amp + 1, q.size()));
      const std::string_view name = param.substr(0, param.find('='));
      // Matched decoded too: `access%5Ftoken` is the origin's `access_token`.
      if (std::any_of(ex.query_remove.begin(), ex.query_remove.end(),
                      [&](std::string_view r) { return QueryNameIs(name, r); })) {
        continue;
      }
      target.push_back(target.size() == start ? '?' : '&');
      target.append(param);
    }
  }
  http::UpstreamRequest ur;
  ur.method = ex.method;
  ur.path_and_query = target;
  ur.host =
      route.config->host_rewrite ? std::string_view(*route.config->host_rewrite) : ex.authority;
  ur.headers = ex.request_headers;
  ur.rules = &route.config->request_headers;
  ur.extra = &ex.upstream_headers;
  ur.proto = ex.is_tls ? "https" : "http";
  ur.client_ip = client_ip;
  ur.original_host = ex.authority;
  ur.trusted_peer = ex.from_trusted_peer;
  ur.request_id_header = site.request_id_header;
  ur.request_id = ex.request_id;
  ur.via = site.via;
  ur.received_protocol = received_protocol;
  // The codecs accept one Content-Length of digits only (HTTP/1.1: MessageParser; HTTP/2:
  // nghttp2, which also holds DATA to it), so the value parsed here is the one the body was
  // framed by.
  bool has_length = false;
  const std::string_view cl = ex.request_headers->Get("content-length", &has_length);
  std::uint64_t length = 0;
  if (has_length &&
      std::from_chars(cl.data(), cl.data() + cl.size(), length).ptr == cl.data() + cl.size()) {
    ur.content_length = length;
  }
  return ur;
}

http::DownstreamResponse MakeDownstreamResponse(const CompiledRoute& route, const Exchange& ex,
                                                const Site& site, int status,
                                                const http::HeaderList& headers) {
  http::DownstreamResponse dr;
  dr.status = status;
  dr.headers = &headers;
  dr.rules = &route.config->response_headers;
  dr.via = site.via;
  dr.extra = ex.response_headers;
  if (!ex.response_remove.empty()) dr.remove = &ex.response_remove;
  return dr;
}

http::DownstreamResponse MakeInterimResponse(const Site& site, int status,
                                             const http::HeaderList& headers,
                                             std::string_view received_protocol) {
  http::DownstreamResponse dr;
  dr.status = status;
  dr.headers = &headers;
  dr.via = site.via;
  dr.framing = http::DownstreamResponse::Framing::kNone;
  dr.received_protocol = received_protocol;
  return dr;
}

}  // namespace rampart
