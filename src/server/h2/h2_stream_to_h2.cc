// Stream::ProxyH2: an HTTP/2 stream sent to an upstream with protocol: h2, as one stream on the
// worker's session to the endpoint. One loop moves both directions as they become possible, so a
// response can stream while the request body still flows (gRPC bidirectional calls). Both waits
// are one: the upstream stream wakes this stream's timer.
#include <boost/asio.hpp>

#include "http/proxy_headers.h"
#include "pipeline/chain.h"
#include "server/exchange_log.h"
#include "server/h2/h2_connection.h"
#include "server/h2/h2_stream.h"
#include "server/h2/upstream_exchange.h"
#include "server/snapshot.h"
#include "server/upstream_connect.h"
#include "server/upstream_request.h"
#include "server/worker.h"

namespace rampart::server::h2 {

namespace asio = boost::asio;
using observe::LocalReason;

using http::h2::Field;

bool Stream::SubmitUpstreamHead(const CompiledRoute& route, UpstreamStream& us, bool replayable) {
  RequestState& s = *st;
  Exchange& ex = s.ex;
  if (replayable && !body_in.empty()) {  // sent: the client's window comes back
    s.acct.bytes_in += body_in.size();
    Consume(body_in.size());
    body_in.clear();
  }
  s.acct.upstream_end = conn.worker().now();
  ex.status = us.status();
  RunResponseGates(route, ex, gates_ran_);
  http::DownstreamResponse dr =
      MakeDownstreamResponse(route, ex, *snap, ex.status, s.response_headers);
  dr.received_protocol = "2";
  http::BuildDownstreamResponseHead(s.head_out, dr);
  const bool no_body = ex.method == "HEAD" || ex.status == 204 || ex.status == 304;
  const bool empty = us.ended() && us.body().empty() && us.trailers().size() == 0;
  s.acct.bytes_out += s.head_out.size();
  Submit(s.head_out, no_body || empty);
  return no_body || empty;
}

asio::awaitable<void> Stream::ProxyH2(const CompiledRoute& route) {
  RequestState& s = *st;
  Exchange& ex = s.ex;
  Worker& w = conn.worker();
  const upstream::UpstreamSpec& up = *route.upstream;
  const auto& limits = listener->limits;

  UpstreamFields uf;
  MakeUpstreamFields(route, ex, *snap, conn.peer().ip, "2", s, uf);
  // The whole body has arrived (or there is none): kept until the head, so that a stream the
  // origin refused is sent once more.
  const bool replayable = body_done;
  UpstreamLease lease(w, up, s.acct, upstream);
  std::optional<UpstreamStream> us;
  for (int attempt = 0; attempt < 2; ++attempt) {
    us.reset();
    us.emplace(w.io(), s.response_headers, &wake);
    const ConnectFailure f =
        co_await lease.Open(*us, uf.fields, !(body_done && body_received == 0));
    if (closed) co_return Finish(0, "client_reset");
    if (f != ConnectFailure::kNone) {
      auto [reason, message] = lease.ConnectFailed(f);
      co_return Reply(reason, message);
    }
    bool request_done = replayable;
    if (replayable) {
      us->Write(body_in);
      us->EndRequest();
    }
    dl.fired = TimeoutKind::kNone;
    bool retry = false;
    for (;;) {
      if (closed) co_return Finish(0, "client_reset");  // `us` resets the upstream stream
      if (dl.fired == TimeoutKind::kBody) {
        co_return Reply(LocalReason::kRequestTimeout, "the request body did not arrive in time");
      }
      // Request body, as the client's DATA arrives and the origin's window takes it.
      if (!request_done && !us->failed()) {
        if (body_too_large) {
          if (!submitted_) co_return Reply(LocalReason::kBodyTooLarge, "request body too large");
          Reset(NGHTTP2_CANCEL);
          co_return Finish(ex.status, "body_too_large");
        }
        if (!body_in.empty() && us->unsent() < UpstreamStream::kRequestHighWater) {
          const std::size_t n = body_in.size();
          us->Write(body_in);
          body_in.clear();
          s.acct.bytes_in += n;
          Consume(n);
        }
        if (body_done && body_in.empty()) {
          us->EndRequest();
          request_done = true;
        }
      }
      // Response head.
      if (!submitted_) {
        const HeadWait head = ClassifyHead(*us, dl);
        if (head == HeadWait::kRefused && replayable && attempt == 0) {
          retry = true;
          break;
        }
        if (head != HeadWait::kPending && head != HeadWait::kOk) {
          const HeadFailure f = DescribeHeadFailure(head);
          lease.Fail(f.error);
          co_return Reply(f.reason, f.message);
        }
        if (head == HeadWait::kOk && SubmitUpstreamHead(route, *us, replayable)) break;
      }
      // Response body and trailers, at most kResponseHighWater buffered for the client.
      if (submitted_) {
        if (!us->body().empty() && resp.size() - resp_off < kResponseHighWater) {
          const std::size_t n = us->body().size();
          s.acct.bytes_out += n;
          AppendResponse(us->body());
          us->Consume(n);
        }
        if (us->ended() && us->body().empty()) {
          for (const auto& f : us->trailers()) {
            if (http::h2::IsForbiddenTrailer(f.name)) continue;
            trailer_bytes.append(f.name).append(f.value);
            trailer_lengths.emplace_back(f.name.size(), f.value.size());
          }
          resp_done = true;
          std::string none;
          AppendResponse(none);
          break;
        }
        if (us->failed() || dl.fired == TimeoutKind::kUpstream || dl.fired == TimeoutKind::kSend) {
          lease.Fail(us->failed() ? observe::UpstreamError::kReset
                                  : observe::UpstreamError::kTimeout);
          Reset(NGHTTP2_INTERNAL_ERROR);  // a truncated body must not look complete
          co_return Finish(ex.status, "upstream_aborted");
        }
        waiting_drain = resp.size() - resp_off >= kResponseHighWater;
      }
      // The next wait is bounded by what it waits for; any event re-arms it.
      if (waiting_drain) {
        dl.Set(TimeoutKind::kSend, w.now(), limits.send_timeout);
      } else if (!submitted_ && !request_done && body_in.empty()) {
        dl.Set(TimeoutKind::kBody, w.now(), limits.body_timeout);
      } else {
        dl.Set(TimeoutKind::kUpstream, w.now(), up.response_timeout);
      }
      co_await Wait();
    }
    if (!retry) break;
  }
  waiting_drain = false;
  dl.Clear();
  if (!body_done || !body_in.empty()) {  // the answer is complete: the rest of the body is not
    discard_body = true;
    Consume(body_in.size());
    body_in.clear();
  }
  Finish(ex.status, {});
}

void Stream::SubmitTrailers() noexcept {
  std::vector<Field> fields;
  fields.reserve(trailer_lengths.size());
  std::string_view rest = trailer_bytes;
  for (const auto& [nlen, vlen] : trailer_lengths) {
    fields.push_back({rest.substr(0, nlen), rest.substr(nlen, vlen)});
    rest.remove_prefix(nlen + vlen);
  }
  const std::vector<nghttp2_nv> nv = http::h2::ToNv(fields);
  nghttp2_submit_trailer(conn.session(), id, nv.data(), nv.size());
}

}  // namespace rampart::server::h2
