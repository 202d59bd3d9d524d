// An attempt over HTTP/1.1: an idle pooled connection to the endpoint (counted as reused), else
// a new one. The request goes out with rampart's own framing (chunks re-encoded when the body
// has no length); the response is parsed strictly and its body handed on decoded. A connection
// goes back to the pool only after a complete, well-framed exchange.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "http/h1/message_parser.h"
#include "net/deadline.h"
#include "net/io_buffer.h"
#include "net/loop_context.h"
#include "observe/metrics.h"
#include "upstream/connection_pool.h"
#include "upstream/endpoint_health.h"
#include "upstream/stream.h"
#include "upstream/upstream_spec.h"

namespace rampart::upstream {

// Buffers of the exchange that the stream writes into (pooled with the exchange's state).
struct StreamBuffers {
  net::IoBuffer& in;          // bytes read from the upstream
  http::HeaderList& headers;  // the response head's fields
  std::string& head;          // the request head as sent
  std::string& scratch;       // chunk framing
  std::string& parsed;        // response body bytes the parser decoded, not yet taken
};

class Http1Stream final : public Stream {
 public:
  Http1Stream(net::LoopContext& loop, ConnectionPool& pool, const UpstreamSpec& up,
              const EndpointSpec& ep, ConnectionPool::Slot& slot, observe::UpstreamSlot& stats,
              net::Deadline& dl, StreamBuffers bufs);
  ~Http1Stream() override;

  // An idle pooled connection, taken without waiting: false when there is none.
  bool TryPooled();
  // A pooled connection, else a new one (connect errors are retry_safe: nothing was sent).
  boost::asio::awaitable<http::ExchangeError> Open();

  boost::asio::awaitable<http::ExchangeError> SendHead(const http::UpstreamRequest& request,
                                                       std::string_view body, bool end) override;
  boost::asio::awaitable<http::ExchangeError> SendBody(std::string_view body, bool end) override;
  boost::asio::awaitable<http::ExchangeError> ReadHead(ResponseHead& head, std::string& body,
                                                       bool& end) override;
  boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& body, bool& end) override;
  void Cancel() noexcept override;
  void End(StreamEnd how) noexcept override;
  bool reused() const noexcept override { return reused_; }
  Tunnel TakeTunnel() noexcept override;

 private:
  // Its endpoint's membership state in this upstream (null in tests without one): the owner a
  // drain cut looks for, and whether a connection may be pooled (not while draining).
  const EndpointState* State() const noexcept;
  bool Draining() const noexcept;
  void GivePlace() noexcept;  // back to the upstream's connection limit, if one was held
  http::ExchangeError WriteError(const boost::system::error_code& ec, http::Step step) const;
  http::ExchangeError ReadError(http::Step step) const noexcept;
  // The body bytes as they go out: chunk-framed when the request is chunked (the last chunk
  // when `end`), else as they are.
  std::string_view Framed(std::string_view body, bool end);
  // The parsed head (`head_bytes` of the read buffer) as `head`: status, fields, protocol.
  void FillHead(ResponseHead& head, std::size_t head_bytes) noexcept;
  void ReleaseHead() noexcept;

  net::LoopContext& loop_;
  ConnectionPool& pool_;
  const UpstreamSpec& up_;
  const EndpointSpec& ep_;
  ConnectionPool::Slot& slot_;
  observe::UpstreamSlot& stats_;
  net::Deadline& dl_;
  StreamBuffers bufs_;
  std::unique_ptr<UpstreamConnection> conn_;
  bool place_ = false;  // holds a place under up_.connection_limit
  std::optional<http::h1::ResponseParser> rp_;
  std::size_t head_bytes_ = 0;  // the head at bufs_.in's front, until released
  bool reused_ = false;
  bool chunked_ = false;
  bool head_request_ = false;
  bool expect_switch_ = false;
  bool request_complete_ = false;  // the whole request went out
  std::size_t interim_ = 0;        // interim (1xx) heads handed on for this request
  bool ended_at_close_ = false;
};

}  // namespace rampart::upstream
