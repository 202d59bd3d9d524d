// An attempt over HTTP/2: one stream on the worker's session to the endpoint (a session that
// takes streams, else one still connecting, else a new one). The request head is the HTTP/1.1
// head rampart builds, translated, so forwarding rules have one implementation. A stream the
// origin refused (REFUSED_STREAM, or above a GOAWAY's last stream) reports a retry_safe error.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <optional>
#include <string>
#include <vector>

#include "net/deadline.h"
#include "net/loop_context.h"
#include "observe/metrics.h"
#include "upstream/http2_session.h"
#include "upstream/stream.h"

namespace rampart::upstream {

class Http2Stream final : public Stream, public Stream::Duplex {
 public:
  // `wake`: a timer the caller waits on for both of its sides (duplex), else the stream's own.
  Http2Stream(net::LoopContext& loop, int worker, Http2Sessions& sessions, const UpstreamSpec& up,
              const EndpointSpec& ep, observe::UpstreamSlot& stats, net::Deadline& dl,
              http::HeaderList& response_headers, std::string& head_text,
              boost::asio::steady_timer* wake);
  ~Http2Stream() override = default;

  // A session that is ready, found without waiting: false when it must connect first.
  bool TryReady();
  // A session that takes streams (waiting while one connects).
  boost::asio::awaitable<http::ExchangeError> Open();

  boost::asio::awaitable<http::ExchangeError> SendHead(const http::UpstreamRequest& request,
                                                       std::string_view body, bool end) override;
  boost::asio::awaitable<http::ExchangeError> SendBody(std::string_view body, bool end) override;
  boost::asio::awaitable<http::ExchangeError> ReadHead(ResponseHead& head, std::string& body,
                                                       bool& end) override;
  boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& body, bool& end) override;
  void Consumed(std::size_t n) noexcept override { call_.Consume(n); }
  const http::HeaderList* trailers() const noexcept override;
  void Cancel() noexcept override { call_.Wake(); }
  void End(StreamEnd how) noexcept override;
  bool reused() const noexcept override { return reused_; }
  Stream::Duplex* duplex() noexcept override { return this; }

  // Duplex.
  void Write(std::string_view data) override { call_.Write(data); }
  void EndRequest() override { call_.EndRequest(); }
  std::size_t unsent() const noexcept override { return call_.unsent(); }
  bool head_done() const noexcept override { return call_.head_done(); }
  std::string& body() noexcept override { return call_.body(); }
  bool ended() const noexcept override { return call_.ended(); }
  http::ExchangeError failure() const noexcept override;
  void Head(ResponseHead& head) const noexcept override;
  bool TakeInterim(ResponseHead& head) noexcept override;

 private:
  net::LoopContext& loop_;
  int worker_;
  Http2Sessions& sessions_;
  const UpstreamSpec& up_;
  const EndpointSpec& ep_;
  observe::UpstreamSlot& stats_;
  net::Deadline& dl_;
  std::string& head_text_;
  Http2Call call_;
  std::shared_ptr<Http2Session> session_;
  std::vector<http::h2::Field> fields_;
  std::string names_;
  bool reused_ = false;
  bool head_request_ = false;
};

}  // namespace rampart::upstream
