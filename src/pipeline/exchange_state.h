// Per-exchange memory, pooled by the worker so that idle connections hold none of it. An HTTP/1.1
// connection takes one per request, an HTTP/2 connection one per stream; the forwarding driver
// and the upstream streams of its attempts work in it.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "http/h1/message_parser.h"
#include "http/message.h"
#include "http/proxy_headers.h"
#include "net/io_buffer.h"
#include "pipeline/exchange.h"
#include "upstream/attempts.h"
#include "upstream/opener.h"

namespace rampart {

// What the access log reports about one exchange besides the Exchange itself.
struct ExchangeAccounting {
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  SteadyTime upstream_start{};
  SteadyTime upstream_end{};
  std::string_view upstream_name;  // views into the snapshot the exchange runs on
  std::string_view endpoint_key;
  int attempts = 0;
  void Reset() {
    bytes_in = bytes_out = 0;
    upstream_start = upstream_end = {};
    upstream_name = endpoint_key = {};
    attempts = 0;
  }
};

struct ExchangeState {
  explicit ExchangeState(net::BufferPool& pool) : aux(pool), up_in(pool) {}
  http::HeaderList request_headers;
  http::HeaderList response_headers;
  std::string head_out;     // the response head as sent to the client
  std::string up_head;      // the request head as sent upstream
  std::string body;         // request body bytes read and not yet handed upstream (or held)
  std::string body_in;      // HTTP/1.1: body bytes the parser decoded, not yet taken
  std::string out_frame;    // response framing (chunks) on its way to the client
  std::string resp_body;    // response body bytes on their way to the client
  std::string resp_parsed;  // HTTP/1.1 upstream: body bytes its parser decoded, not yet taken
  std::string scratch;      // framing, log lines
  std::string target;       // the upstream request's path and query
  std::string path;         // ex.path when normalizing changed it (http::NormalizePath)
  net::IoBuffer aux;        // HTTP/1.1: request body reads after the head
  net::IoBuffer up_in;      // HTTP/1.1 upstream: response bytes
  Exchange ex;
  ExchangeAccounting acct;
  std::array<char, 36> request_id_buf{};
  // The client's address as text when it is not the connection's peer (a trusted proxy's
  // chain named it: http/client_address.h); empty otherwise.
  std::string client_ip;
  // HTTP/1.1: the request's parser (writes into request_headers and body). Here rather than in
  // the connection's frame, so that an idle connection does not hold it.
  std::optional<http::h1::RequestParser> parser;
  // The streams of the exchange's attempts, the attempts, and the request they send. Here, not in
  // the driver's coroutine frames, which stay small enough for Asio's frame recycling.
  std::optional<upstream::Connector> connector;
  std::optional<upstream::Attempts> attempts;
  http::UpstreamRequest upstream_request;

  upstream::StreamBuffers stream_buffers() noexcept {
    return {up_in, response_headers, up_head, scratch, resp_parsed};
  }
};

}  // namespace rampart
