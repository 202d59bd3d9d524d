// The forwarding driver's state for one exchange (private to forward*.cc): forward.cc has the
// phases around the upstream (route, gates, body hold, answers, completion),
// forward_sequential.cc the upstream attempts with one direction at a time, and
// forward_duplex.cc the same with both directions at once (HTTP/2 on both sides).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <string_view>

#include "pipeline/forward.h"
#include "upstream/attempts.h"

namespace rampart {

class Forwarder {
 public:
  Forwarder(Downstream& d, ExchangeState& st, ForwardEnv& env)
      : d_(d), st_(st), ex_(st.ex), env_(env) {}
  // Exceptions and cancellation end the exchange here: OnComplete still runs, once.
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // The exchange, start to end; the Forwarder lives in its frame.
  static boost::asio::awaitable<void> Run(Downstream& d, ExchangeState& st, ForwardEnv& env);
  static boost::asio::awaitable<void> Refuse(Downstream& d, ExchangeState& st, ForwardEnv& env,
                                             int status, std::string_view reason,
                                             std::string_view message);

 private:
  // rampart's JSON error (response gates first, which may replace it), then completion.
  boost::asio::awaitable<void> Reply(int status, std::string_view reason, std::string_view message,
                                     std::string_view headers = {});
  // --- forward.cc ---
  // The request gates in order without a coroutine frame; Await when one asked to wait (then
  // RequestGates goes on from it) or some gate of the route always waits.
  Decision RequestGatesSync();
  boost::asio::awaitable<Decision> RequestGates();
  // How much body this exchange holds before the upstream is connected: the largest need of the
  // gates that ran and did not skip, or the route's (else the listener's) buffer_request_body.
  std::size_t BodyHold() const noexcept;
  std::size_t BufferedBody() const noexcept;
  // Holds the body for the gates that asked for it; their decision in `decision`.
  boost::asio::awaitable<http::ExchangeError> HoldBody(Decision& decision);
  // A gate's decision that is not Continue: the answer it asks for.
  boost::asio::awaitable<void> Answer(const Decision& d);
  boost::asio::awaitable<void> Serve(const StoredResponse& r, std::string_view reason,
                                     std::string_view headers);
  // A stored response whose body is still arriving (StoredResponse::growing): its first piece
  // is read before the answer is chosen (into st_.resp_body); false when it was cut before any.
  boost::asio::awaitable<bool> FirstPiece(const Decision& dec);
  boost::asio::awaitable<void> ServeGrowing(const StoredResponse& r, std::string_view headers);
  // The exchange failed before a response head went out: its answer (when the client is still
  // there), or the end of the response (when a head went out already).
  boost::asio::awaitable<void> Fail(const http::ExchangeError& e);
  // OnResponseHeaders for the gates that ran, on what ex_.response describes; a gate's
  // replacement (once per exchange), else Continue; Await when a gate asked to wait: then
  // ResponseGatesAsync finishes the pass.
  Decision ResponseGates() { return ResponseGatesFrom(ran_); }
  Decision ResponseGatesFrom(std::size_t top);
  boost::asio::awaitable<Decision> ResponseGatesAsync();
  void TapResponse(std::string_view piece, bool end) noexcept;
  void Complete(int status, std::string_view error);
  void CountLocal(std::string_view reason) noexcept;

  // --- forward_sequential.cc ---
  // The upstream request and the attempts; returns the transfer loop to await (not a coroutine
  // itself: one frame fewer per exchange).
  boost::asio::awaitable<void> Proxy();
  boost::asio::awaitable<void> Sequential(const http::UpstreamRequest& request);
  // The response after its head: gates, then the head and body to the client.
  boost::asio::awaitable<void> Respond(upstream::Stream& s, upstream::ResponseHead& head, bool end);
  // --- forward_duplex.cc ---
  boost::asio::awaitable<void> Duplex(const http::UpstreamRequest& request, Downstream::Duplex& dd);
  // --- forward_attempts.cc ---
  // The wait a retry policy asked for before the next attempt.
  boost::asio::awaitable<void> Backoff();
  // An interim (1xx) head to the client: false when the client went away as it was sent, and the
  // exchange is then over (the attempt closed, the failure recorded).
  boost::asio::awaitable<bool> ForwardInterim(upstream::Stream& s,
                                              const upstream::ResponseHead& head);
  // The exchange's upstream deadline: the route's timeout, shortened (never lengthened) by the
  // client's grpc-timeout or the route's timeout_header; max when there is none.
  SteadyTime Deadline() const noexcept;
  // The request's key for consistent hashing (header, cookie, client address or path), hashed.
  std::uint64_t HashKey(const config::HashOn& on) const noexcept;
  // When the upstream could not take the request and none of it left: moves the attempts to the
  // route's fallback upstream (once). True when the caller should try again.
  bool FallBack(const http::ExchangeError& e);

  Downstream& d_;
  ExchangeState& st_;
  Exchange& ex_;
  ForwardEnv& env_;
  const CompiledRoute* route_ = nullptr;
  std::size_t first_ = 0;  // the first gate this exchange runs (a background copy's)
  static constexpr std::size_t kNoResume = static_cast<std::size_t>(-1);
  std::size_t resume_ = kNoResume;  // the gate RequestGatesSync stopped at to wait
  std::size_t ran_ = 0;             // gates whose request phase ran (from first_)
  bool body_complete_ = false;      // the hold phase read the whole body
  bool replaced_ = false;           // a response gate replaced the answer (once)
  std::size_t resp_await_ = 0;      // the response gate that asked to wait
  bool head_sent_ = false;          // a response head went to the client
  bool fell_back_ = false;          // the attempts moved to the route's fallback upstream
  bool done_ = false;
  bool growing_end_ = false;                // FirstPiece read the whole growing body
  int status_ = 0;                          // the status sent (or about to be)
  upstream::Attempts* attempts_ = nullptr;  // in st_, once the upstream phase began
};

}  // namespace rampart
