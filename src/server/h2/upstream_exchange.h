// The parts of an exchange with an HTTP/2 upstream that HTTP/1.1 sessions and HTTP/2 streams
// share: the request head as fields, and the wait for the response head.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "http/h2/fields.h"
#include "observe/metrics.h"
#include "pipeline/exchange.h"
#include "pipeline/router.h"
#include "server/deadline.h"
#include "server/h2/upstream_session.h"
#include "server/request_state.h"
#include "server/snapshot.h"

namespace rampart::server::h2 {

// The request as fields: the head the HTTP/1.1 path would send (rewrites, forwarding headers,
// header rules, Via), translated; "te: trailers" when the client asked for trailers (gRPC
// needs it). `fields` points into st.head_out, st.scratch and `names`.
struct UpstreamFields {
  std::vector<http::h2::Field> fields;
  std::string names;
};
void MakeUpstreamFields(const CompiledRoute& route, const Exchange& ex, const Snapshot& snap,
                        std::string_view client_ip, std::string_view received_protocol,
                        RequestState& st, UpstreamFields& out);

enum class HeadWait : std::uint8_t {
  kPending,  // nothing decided yet
  kOk,       // a final response head (status 200..599)
  kRefused,  // not processed by the origin: may be sent again
  kTimeout,  // `dl` fired with kUpstream
  kReset,    // reset, or the session was lost
  kInvalid,  // head too large, or a status HTTP/2 does not allow (101)
};
// Where the response head stands now.
HeadWait ClassifyHead(const UpstreamStream& us, const Deadline& dl) noexcept;
// Waits until ClassifyHead decides; `dl` is armed by the caller (kUpstream) and its expiry wakes
// `us`.
boost::asio::awaitable<HeadWait> AwaitHead(UpstreamStream& us, const Deadline& dl);

// The local reply and the counted error for a head that did not come (any HeadWait but kOk and
// kPending; kRefused, when not sent again, is a reset).
struct HeadFailure {
  observe::UpstreamError error;
  observe::LocalReason reason;
  std::string_view message;
};
HeadFailure DescribeHeadFailure(HeadWait w) noexcept;

// Client asked for trailers (TE lists "trailers").
bool WantsTrailers(const http::HeaderList& request_headers) noexcept;

}  // namespace rampart::server::h2
