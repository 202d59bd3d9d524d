// Per-request memory, pooled by the worker so that idle connections hold none of it. An HTTP/1.1
// session takes one per request; an HTTP/2 connection one per stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/h1/message_parser.h"
#include "http/message.h"
#include "net/io_buffer.h"
#include "pipeline/exchange.h"

namespace rampart::server {

// What the access log reports about one exchange besides the Exchange itself.
struct ExchangeAccounting {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  SteadyTime upstream_start{};
  SteadyTime upstream_end{};
  std::string_view upstream_name;  // views into the snapshot the exchange runs on
  std::string_view endpoint_key;
  void Reset() {
    bytes_in = bytes_out = 0;
    upstream_start = upstream_end = {};
    upstream_name = endpoint_key = {};
  }
};

struct RequestState {
  explicit RequestState(net::BufferPool& pool) : aux(pool), up_in(pool) {}
  http::HeaderList request_headers;
  http::HeaderList response_headers;
  std::string head_out;
  std::string body_out;
  std::string resp_body_out;
  std::string scratch;
  net::IoBuffer aux;    // request body reads after the head
  net::IoBuffer up_in;  // upstream response
  Exchange ex;
  ExchangeAccounting acct;
  std::array<char, 36> request_id_buf{};
  // HTTP/1.1: the request's parser (writes into request_headers and body_out). Here rather than
  // in the session's frame, so that an idle connection does not hold it.
  std::optional<http::h1::RequestParser> parser;
};

}  // namespace rampart::server
