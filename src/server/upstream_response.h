// Reading an upstream's response head, shared by HTTP/1.1 sessions and HTTP/2 streams: interim
// 1xx responses are consumed, a 101 is accepted only when the exchange asked to switch.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <optional>

#include "http/h1/message_parser.h"
#include "observe/metrics.h"
#include "server/deadline.h"
#include "server/request_state.h"
#include "upstream/connection_pool.h"

namespace rampart::server {

class Worker;

enum class HeadOutcome : std::uint8_t {
  kOk,                // a final response head
  kSwitching,         // 101 to the switch the request asked for
  kClosed,            // read failed or the upstream closed (a deadline may have fired)
  kInvalid,           // unparsable or too large
  kUnexpectedSwitch,  // 101 nobody asked for
};

struct HeadOptions {
  bool rechunk = true;        // body pieces re-chunked for an HTTP/1.1 client (else decoded)
  bool head_request = false;  // HEAD: no body whatever the headers say
  bool expect_switch = false;
};

// Reads into st.up_in and parses into st.response_headers / st.resp_body_out. On kOk and
// kSwitching, `consumed` is the head's length at the front of st.up_in.
boost::asio::awaitable<HeadOutcome> ReadUpstreamHead(Worker& worker,
                                                     upstream::UpstreamConnection& conn,
                                                     RequestState& st,
                                                     std::optional<http::h1::ResponseParser>& rp,
                                                     std::size_t& consumed, HeadOptions opts);

enum class BodyStep : std::uint8_t {
  kMore,         // a piece was parsed (st.resp_body_out may hold bytes to forward)
  kDoneAtClose,  // the origin closed where the body could end: complete, connection not reusable
  kFailed,       // read failed, cut short, or unparsable: `error` says which
};

// Reads and parses the next piece of a response body (after ReadUpstreamHead) into
// st.resp_body_out. `dl` is the caller's deadline, consulted to tell a timeout from a reset.
boost::asio::awaitable<BodyStep> ReadUpstreamBody(Worker& worker,
                                                  upstream::UpstreamConnection& conn,
                                                  RequestState& st, http::h1::ResponseParser& rp,
                                                  const Deadline& dl,
                                                  observe::UpstreamError& error);

}  // namespace rampart::server
