// One HTTP/2 stream: its request as nghttp2 delivers it, and the coroutine that routes it, runs
// the gates and proxies it to an HTTP/1.1 upstream. Request bodies are flow-controlled: the
// stream's window is given back only as bytes are written upstream, so a stream buffers at most
// its window. Response bodies wait for the client's window with at most kResponseHighWater
// bytes buffered.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "http/message.h"
#include "observe/metrics.h"
#include "server/deadline.h"
#include "server/request_state.h"
#include "upstream/connection_pool.h"

namespace rampart {
struct CompiledRoute;
}

namespace rampart::server {
struct Snapshot;
}

namespace rampart::server::h2 {

class Connection;
class UpstreamStream;

struct Stream {
  static constexpr std::size_t kResponseHighWater = 256 * 1024;

  Stream(Connection& c, std::int32_t stream_id, std::unique_ptr<RequestState> state);
  ~Stream();

  // The coroutine, started once the request head is complete.
  boost::asio::awaitable<void> Run();

  // Request head, as the callbacks deliver it.
  void AddHeader(std::string_view name, std::string_view value);
  void EndHeaders();

  // Wakes the coroutine if it waits; it re-checks its conditions.
  void Wake() noexcept { wake.cancel(); }

  Connection& conn;
  const std::int32_t id;
  std::unique_ptr<RequestState> st;
  std::shared_ptr<const Snapshot> snap;        // the configuration this stream runs on
  const config::Listener* listener = nullptr;  // in `snap`
  Stream* next = nullptr;
  Stream* prev = nullptr;

  // Request head. Names and values are copied into `head_bytes` and resolved into
  // st->request_headers at the end of the head.
  std::string method, scheme, authority, path;
  std::string head_bytes;
  std::string cookie;  // RFC 9113 section 8.2.3: crumbs joined with "; "
  std::size_t header_list_bytes = 0;
  bool head_too_large = false;
  bool head_malformed = false;  // duplicate or unexpected pseudo-header, or a bad field
  bool started = false;

  // Request body: bytes received and not yet written upstream.
  std::string body_in;
  bool body_done = false;
  bool body_too_large = false;
  bool discard_body = false;  // the answer is decided: later body bytes are dropped
  std::uint64_t body_received = 0;
  std::uint64_t unconsumed = 0;  // received bytes not yet given back to the flow-control window

  // Response body, read by the data source callback.
  std::string resp;
  std::size_t resp_off = 0;
  bool resp_done = false;
  bool waiting_drain = false;

  bool closed = false;  // nghttp2 closed the stream (sent in full, or reset)
  Deadline dl;
  upstream::UpstreamConnection* upstream = nullptr;  // for cancellation
  // Response trailers from an HTTP/2 upstream, sent after the last DATA (names lower case).
  std::string trailer_bytes;
  std::vector<std::pair<std::size_t, std::size_t>> trailer_lengths;  // name, value sizes
  boost::asio::steady_timer wake;

  // nghttp2's data source: copies buffered response bytes into DATA frames.
  static ssize_t ReadResponse(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
                              std::uint32_t* flags, nghttp2_data_source* source, void*);

 private:
  boost::asio::awaitable<void> Handle();
  boost::asio::awaitable<void> Proxy(const CompiledRoute& route);
  // To an upstream with protocol: h2 (h2_stream_to_h2.cc): request and response flow at once,
  // as gRPC's streaming calls need.
  boost::asio::awaitable<void> ProxyH2(const CompiledRoute& route);
  void SubmitTrailers() noexcept;
  // The upstream's final head to the client (after the response gates). True when that is the
  // whole answer (HEAD, 204, 304, or an empty body without trailers).
  bool SubmitUpstreamHead(const CompiledRoute& route, UpstreamStream& us, bool replayable);
  boost::asio::awaitable<void> Wait();
  // Sends the response head; a body follows from `resp` unless `end_stream`.
  bool Submit(std::string_view h1_head, bool end_stream);
  void LocalReply(int status, std::string_view reason, std::string_view message,
                  std::string_view extra_headers = {});
  void Reply(observe::LocalReason reason, std::string_view message);
  // Queues `data` (left empty) for the data source and resumes it.
  void AppendResponse(std::string& data);
  void Reset(std::uint32_t error_code) noexcept;
  void Consume(std::size_t n) noexcept;
  void Finish(int status, std::string_view reason);
  // Writes body_in upstream (chunk-framed when `chunked`), then gives the window back.
  boost::asio::awaitable<bool> SendBody(upstream::UpstreamConnection& up, bool chunked,
                                        std::chrono::microseconds timeout);

  std::size_t gates_ran_ = 0;
  bool submitted_ = false;
};

}  // namespace rampart::server::h2
