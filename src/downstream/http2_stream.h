// One HTTP/2 stream: its request as nghttp2 delivers it, checked here, then forwarded by the
// driver (pipeline/forward.h) through this stream as its Downstream. Request bodies are
// flow-controlled: the stream's window is given back only as bytes go upstream, so a stream
// buffers at most its window. Response bodies wait for the client's window with at most
// kResponseHighWater bytes buffered. To an HTTP/2 upstream both directions move at once
// (Downstream::Duplex), woken by the stream's one timer.
#pragma once

#include <nghttp2/nghttp2.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "http/h2/fields.h"
#include "http/message.h"
#include "net/deadline.h"
#include "net/rate_floor.h"
#include "pipeline/downstream.h"
#include "pipeline/exchange_state.h"
#include "pipeline/forward.h"

namespace rampart::server {
struct Snapshot;
}

namespace rampart::downstream {

class Http2Connection;

struct Http2Stream final : public Downstream, public Downstream::Duplex {
  static constexpr std::size_t kResponseHighWater = 256 * 1024;

  Http2Stream(Http2Connection& c, std::int32_t stream_id, std::unique_ptr<ExchangeState> state);
  ~Http2Stream() override;

  // The coroutine, started once the request head is complete.
  boost::asio::awaitable<void> Run();

  // Request head, as the callbacks deliver it.
  void AddHeader(std::string_view name, std::string_view value);
  void EndHeaders();

  // Wakes the coroutine if it waits; it re-checks its conditions.
  void Wake() noexcept { wake_.cancel(); }

  // --- Downstream ---
  bool has_body() const noexcept override { return has_body_; }
  bool body_done() const noexcept override { return body_done_ && body_in_.empty(); }
  std::optional<std::uint64_t> declared_length() const noexcept override;
  void TakeBody(std::string& out) noexcept override;
  boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& out, bool& end) override;
  void BodyForwarded(std::size_t n) noexcept override;
  void BodyHeld(std::size_t n) noexcept override;
  void DiscardBody() noexcept override;
  std::string_view received_protocol() const noexcept override { return "2"; }
  boost::asio::awaitable<bool> SendHead(const upstream::ResponseHead& head, std::string& body,
                                        bool end) override;
  std::optional<bool> SendHeadNow(const upstream::ResponseHead& head, std::string& body,
                                  bool end) override;
  boost::asio::awaitable<bool> SendInterim(const upstream::ResponseHead& head) override;
  boost::asio::awaitable<bool> SendBody(std::string& body, bool end,
                                        const http::HeaderList* trailers) override;
  boost::asio::awaitable<bool> SendLocal(int status, std::string_view reason,
                                         std::string_view message,
                                         std::string_view headers) override;
  boost::asio::awaitable<bool> SendStored(const StoredResponse& response,
                                          std::string_view headers) override;
  void Abort() noexcept override;
  net::Deadline& deadline() noexcept override { return dl; }
  void Watch(upstream::Stream* s) noexcept override { upstream = s; }
  bool gone() const noexcept override { return closed; }
  std::string_view gone_reason() const noexcept override {
    return cut_reason.empty() ? std::string_view("client_reset") : cut_reason;
  }
  Downstream::Duplex* duplex() noexcept override { return this; }

  // --- Downstream::Duplex ---
  boost::asio::steady_timer* wake() noexcept override { return &wake_; }
  boost::asio::awaitable<void> Wait() override;
  std::string& body_in() noexcept override { return body_in_; }
  bool request_ended() const noexcept override { return body_done_; }
  bool body_too_large() const noexcept override { return body_too_large_; }
  bool QueueHead(const upstream::ResponseHead& head, bool end) override;
  void QueueBody(std::string& data) override;
  void QueueEnd(const http::HeaderList* trailers) override;
  // This stream's own high-water mark, or the connection's cap (Http2Connection::response_full).
  bool backlogged() const noexcept override;
  std::size_t pending_response() const noexcept { return resp.size() - resp_off; }
  bool head_queued() const noexcept override { return submitted_; }
  std::chrono::microseconds BodyWait() noexcept override;
  std::chrono::microseconds SendWait() noexcept override;

  // nghttp2's data source: sizes the next DATA frame from the buffered response bytes, which
  // SendData then copies once, straight into the connection's write batch (NO_COPY).
  static ssize_t ReadResponse(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
                              std::uint32_t* flags, nghttp2_data_source* source, void*);
  // nghttp2's send_data callback: appends that DATA frame (its header, then `length` bytes).
  static int SendData(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* framehd,
                      std::size_t length, nghttp2_data_source* source, void*);

  // For the connection's callbacks.
  Http2Connection& conn;
  const std::int32_t id;
  std::unique_ptr<ExchangeState> st;             // null once the stream detached (Run gave it back)
  std::shared_ptr<const server::Snapshot> snap;  // the configuration this stream runs on
  const config::Listener* listener = nullptr;    // in `snap`
  Http2Stream* next = nullptr;
  Http2Stream* prev = nullptr;
  std::size_t header_list_bytes = 0;
  bool head_too_large = false;
  bool started = false;
  bool discard_body = false;  // the answer is decided: later body bytes are dropped
  bool closed = false;        // nghttp2 closed the stream (sent in full, or reset)
  // Run() ended with the response queued: the stream ends when nghttp2 closes it, or when the
  // connection does (no coroutine waits on it). Its exchange state went back to the worker.
  bool detached = false;
  // A detached stream's send deadline passed: reset it.
  void SendExpired() noexcept;
  std::string_view cut_reason;   // rampart's connection error that cut the stream (static)
  std::uint64_t unconsumed = 0;  // received bytes not yet given back to the flow-control window
  net::Deadline dl;
  upstream::Stream* upstream = nullptr;  // the exchange's upstream stream, for cancellation
  // The stream is done: buffers it borrowed go back to the pooled state `st`, capacity kept.
  void GiveBuffers() noexcept;
  // Called by the connection as DATA arrives and the stream ends.
  void ReceiveBody(const std::uint8_t* data, std::size_t len);
  void EndBody() noexcept { body_done_ = true; }

 private:
  // Fills the exchange from the head and checks it: the driver's awaitable, or a refusal's.
  boost::asio::awaitable<void> Handle(ForwardEnv& env);
  // The response head (an HTTP/1.1 head, translated); a body follows from `resp` unless
  // `end_stream`.
  bool Submit(std::string_view h1_head, bool end_stream);
  // The same from its fields.
  bool SubmitFields(std::span<const http::h2::Field> fields, bool end_stream);
  // The worker's scratch for a response head's fields.
  struct HeadScratch {
    std::vector<http::h2::Field> fields;
    std::string names;
    std::vector<nghttp2_nv> nv;
  };
  static HeadScratch& Scratch();
  // Queues `data` (left empty) for the data source and resumes it.
  void AppendResponse(std::string& data);
  void SubmitTrailers() noexcept;
  // The data source took n response bytes for the client.
  void Sent(std::size_t n) noexcept;
  void Reset(std::uint32_t error_code) noexcept;
  void Consume(std::size_t n) noexcept;

  // Request head. Names and values are copied into `head_bytes_` and resolved into
  // st->request_headers at the end of the head.
  std::string method_, scheme_, authority_, path_;
  std::string head_bytes_;
  std::string cookie_;           // RFC 9113 section 8.2.3: crumbs joined with "; "
  bool head_malformed_ = false;  // duplicate or unexpected pseudo-header, or a bad field
  bool has_body_ = false;

  // Request body: bytes received and not yet taken.
  std::string body_in_;
  bool body_done_ = false;
  bool body_too_large_ = false;
  std::uint64_t body_received_ = 0;
  std::uint64_t held_ = 0;  // held bytes whose window went back before they were forwarded

  // Response body, read by the data source callback.
  std::string resp;
  std::size_t resp_off = 0;
  bool resp_done_ = false;
  // Response trailers, sent after the last DATA (names lower case).
  std::string trailer_bytes_;
  std::vector<std::pair<std::size_t, std::size_t>> trailer_lengths_;  // name, value sizes
  boost::asio::steady_timer wake_;
  bool submitted_ = false;
  // Slow clients (net/rate_floor.h): a wait on the client's body or on it reading the response
  // runs from *_wait_from_ (max: not waiting) and costs the floor's credit when bytes arrive.
  net::RateFloor body_floor_;
  net::RateFloor send_floor_;
  SteadyTime body_wait_from_ = SteadyTime::max();
  SteadyTime send_wait_from_ = SteadyTime::max();
};

}  // namespace rampart::downstream
