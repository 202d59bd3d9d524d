// One HTTP/1.1 request on its connection, as the forwarding driver sees it (pipeline::Downstream):
// the body read and decoded from the socket, the response framed for the client (Content-Length
// as the origin gave it, else chunked for HTTP/1.1 clients, else close-delimited), the
// `Expect: 100-continue` answer, and WebSocket tunnels (http1_websocket.cc). Reused for every
// request of the connection.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string>

#include "net/rate_floor.h"
#include "pipeline/downstream.h"
#include "pipeline/exchange_state.h"

namespace rampart::downstream {

class Http1Connection;

class Http1Exchange final : public Downstream {
 public:
  explicit Http1Exchange(Http1Connection& c) : c_(c) {}

  // A new request whose head is parsed into `st` (its parser and headers).
  void Begin(ExchangeState& st) noexcept;
  // Reads until a chunk line that the head's read cut off is complete (bounded), so that a bad
  // one is refused before the request goes anywhere.
  boost::asio::awaitable<http::ExchangeError> CompleteChunkLine();
  bool ChunkLineCut() const noexcept { return st_->parser->partial_chunk_line(); }
  // After the exchange: whether the connection may serve another request.
  bool keep_alive() const noexcept { return keep_alive_; }
  // A refused request may have more input on its way: drain before closing.
  bool linger() const noexcept { return linger_; }
  // The answer to this request closes the connection (a request refused as malformed).
  void CloseAfter() noexcept { close_after_ = true; }

  bool has_body() const noexcept override;
  bool body_done() const noexcept override;
  std::optional<std::uint64_t> declared_length() const noexcept override;
  void TakeBody(std::string& out) noexcept override;
  boost::asio::awaitable<http::ExchangeError> ReadBody(std::string& out, bool& end) override;
  boost::asio::awaitable<bool> Continue() override;
  std::string_view upgrade() const noexcept override;
  std::string_view received_protocol() const noexcept override;

  boost::asio::awaitable<bool> SendHead(const upstream::ResponseHead& head, std::string& body,
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
  boost::asio::awaitable<std::string_view> Tunnel(upstream::Stream& up) override;

  net::Deadline& deadline() noexcept override;
  void Watch(upstream::Stream* s) noexcept override { watched_ = s; }
  upstream::Stream* watched() const noexcept { return watched_; }

 private:
  // Reads and parses the next piece of the body into the parser's output (st.body).
  boost::asio::awaitable<http::ExchangeError> ReadBodyPiece();
  // Moves body bytes that arrived with the head (past what the parser consumed) to st.aux.
  void TakeBodyLeftover();
  // The keep-alive decision for a response about to be written.
  bool CanKeep() const noexcept;
  boost::asio::awaitable<bool> Write(std::string_view a, std::string_view b);
  // A write's start: its deadline and byte count, and what the socket takes at once (true when
  // that was all, or the write failed); EndWrite records the outcome.
  bool BeginWrite(std::span<boost::asio::const_buffer> bufs, boost::system::error_code& ec);
  bool EndWrite(const boost::system::error_code& ec) noexcept;
  boost::asio::awaitable<void> Pump(bool from_client, upstream::Stream::Tunnel& up,
                                    std::chrono::microseconds idle);

  Http1Connection& c_;
  ExchangeState* st_ = nullptr;
  // Slow clients: the request body's and the response's rate floors (listener limits).
  net::RateFloor body_floor_;
  net::RateFloor send_floor_;
  SteadyTime write_from_{};      // when the write under way began
  std::size_t write_bytes_ = 0;  // its bytes
  bool write_waits_ = false;     // the socket did not take it at once
  upstream::Stream* watched_ = nullptr;
  bool chunked_out_ = false;  // the response goes out chunked
  bool keep_alive_ = false;
  bool linger_ = false;
  bool continued_ = false;
  bool close_after_ = false;
};

}  // namespace rampart::downstream
