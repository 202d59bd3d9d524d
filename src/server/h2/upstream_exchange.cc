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

HeadWait ClassifyHead(const UpstreamStream& us, const Deadline& dl) noexcept {
  if (us.head_too_large()) return HeadWait::kInvalid;
  if (us.head_done()) return us.status() < 200 ? HeadWait::kInvalid : HeadWait::kOk;
  if (us.refused()) return HeadWait::kRefused;
  if (us.failed()) return HeadWait::kReset;
  if (dl.fired == TimeoutKind::kUpstream) return HeadWait::kTimeout;
  return HeadWait::kPending;
}

boost::asio::awaitable<HeadWait> AwaitHead(UpstreamStream& us, const Deadline& dl) {
  for (;;) {
    const HeadWait w = ClassifyHead(us, dl);
    if (w != HeadWait::kPending) co_return w;
    co_await us.Wait();
  }
}

HeadFailure DescribeHeadFailure(HeadWait w) noexcept {
  using observe::LocalReason;
  using observe::UpstreamError;
  if (w == HeadWait::kTimeout) {
    return {UpstreamError::kTimeout, LocalReason::kUpstreamTimeout,
            "the upstream did not respond in time"};
  }
  if (w == HeadWait::kInvalid) {
    return {UpstreamError::kBadResponse, LocalReason::kUpstreamBadResponse,
            "the upstream sent an invalid response"};
  }
  return {UpstreamError::kReset, LocalReason::kUpstreamUnavailable,
          "the upstream reset the stream without a response"};
}

}  // namespace rampart::server::h2
