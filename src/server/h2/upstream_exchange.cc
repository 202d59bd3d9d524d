#include "server/h2/upstream_exchange.h"

#include "core/strings.h"
#include "http/proxy_headers.h"
#include "server/upstream_request.h"

namespace rampart::server::h2 {

bool WantsTrailers(const http::HeaderList& request_headers) noexcept {
  for (const auto& f : request_headers) {
    if (!IEquals(f.name, "te")) continue;
    std::string_view v = f.value;
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view item = TrimOws(v.substr(0, comma));
      item = item.substr(0, item.find(';'));
      if (IEquals(TrimOws(item), "trailers")) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
  }
  return false;
}

void MakeUpstreamFields(const CompiledRoute& route, const Exchange& ex, const Snapshot& snap,
                        std::string_view client_ip, std::string_view received_protocol,
                        RequestState& st, UpstreamFields& out) {
  http::UpstreamRequest ur =
      MakeUpstreamRequest(route, ex, snap, client_ip, received_protocol, st.scratch);
  http::BuildUpstreamRequestHead(st.head_out, ur);
  http::h2::RequestHeadToFields(st.head_out, route.upstream->tls ? "https" : "http", out.fields,
                                out.names);
  if (WantsTrailers(st.request_headers)) out.fields.push_back({"te", "trailers"});
}

boost::asio::awaitable<HeadWait> AwaitHead(UpstreamStream& us, const Deadline& dl,
                                           const bool* abandoned) {
  for (;;) {
    if (abandoned && *abandoned) co_return HeadWait::kAbandoned;
    if (us.head_too_large()) co_return HeadWait::kInvalid;
    if (us.head_done()) co_return us.status() < 200 ? HeadWait::kInvalid : HeadWait::kOk;
    if (us.refused()) co_return HeadWait::kRefused;
    if (us.failed()) co_return HeadWait::kReset;
    if (dl.fired == TimeoutKind::kUpstream) co_return HeadWait::kTimeout;
    co_await us.Wait();
  }
}

}  // namespace rampart::server::h2
