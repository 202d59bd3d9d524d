#include "downstream/http2_connection.h"

#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "downstream/http2_stream.h"
#include "net/h2_memory.h"
#include "server/snapshot.h"
#include "server/worker.h"

namespace rampart::downstream {

namespace asio = boost::asio;
using boost::system::error_code;
using net::TimeoutKind;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);

Http2Connection& Self(void* user_data) { return *static_cast<Http2Connection*>(user_data); }

Http2Stream* StreamOf(nghttp2_session* s, std::int32_t id) {
  return static_cast<Http2Stream*>(nghttp2_session_get_stream_user_data(s, id));
}

}  // namespace

Http2Connection::Http2Connection(server::Worker& worker, asio::ip::tcp::socket& socket,
                                 net::TlsStream* tls, std::string_view listener, Peer peer)
    : worker_(worker),
      socket_(socket),
      tls_(tls),
      listener_(listener),
      peer_(peer),
      io_(worker.loop(), socket, tls),
      streams_gone_(socket.get_executor()) {
  Adopt();
}

Http2Connection::~Http2Connection() {
  if (session_) nghttp2_session_del(session_);
}

void Http2Connection::Adopt() {
  // The listener's settings and counters point into the snapshot held here. A reload that
  // removed the listener or turned its HTTP/2 off keeps the old snapshot and drains instead.
  std::shared_ptr<const server::Snapshot> snap = worker_.snapshot();
  const config::Listener* l = snap ? snap->FindListener(listener_) : nullptr;
  const Http2Counters* counters = nullptr;
  if (l != nullptr) {
    if (auto it = snap->http2.find(listener_); it != snap->http2.end()) counters = &it->second;
  }
  if (counters == nullptr) {
    if (snap_) Drain();
    return;
  }
  if (auto it = snap->listener_edges.find(listener_); it != snap->listener_edges.end()) {
    listener_counters_ = &it->second.counters;
  }
  snap_ = std::move(snap);
  listener_cfg_ = l;
  counters_ = counters;
  resp_cap_ = std::max<std::size_t>(l->http2.connection_window, Http2Stream::kResponseHighWater);
}

void Http2Connection::ResponseSent(std::size_t n) noexcept {
  resp_buffered_ -= std::min(n, resp_buffered_);
  if (!held_back_ || resp_buffered_ >= resp_cap_ / 2) return;
  held_back_ = false;
  for (Http2Stream* s = streams_; s != nullptr; s = s->next) s->Wake();  // room again
}

bool Http2Connection::Setup() {
  if (listener_cfg_ == nullptr || counters_ == nullptr) return false;
  const config::ListenerHttp2& h = listener_cfg_->http2;
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, OnInvalidFrame);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, OnFrameSend);
  nghttp2_session_callbacks_set_send_data_callback(cbs, Http2Stream::SendData);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows are given back as the upstream takes the bytes (Stream::Consume), not on arrival.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, h.max_header_table);
  nghttp2_option_set_stream_reset_rate_limit(opt, h.reset_burst, h.resets_per_second);
  nghttp2_option_set_max_continuations(opt, h.max_continuations);
  nghttp2_option_set_no_closed_streams(opt, 1);
  const int rv = nghttp2_session_server_new3(&session_, cbs, this, opt, net::H2Memory());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  io_.set_frame_watch(OnFrameHeader, this);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h.initial_stream_window},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, h.max_header_table},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(listener_cfg_->limits.max_header_bytes)},
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, h.connection_window);
  counters_->connections->Add(worker_.index());
  return true;
}

asio::awaitable<void> Http2Connection::Serve(std::string_view already_read) {
  if (!Setup()) co_return;
  idle_dl_.Set(TimeoutKind::kHeader, worker_.now(), listener_cfg_->limits.header_timeout);
  using namespace asio::experimental::awaitable_operators;
  co_await (ReadLoop(std::string(already_read)) &&
            io_.Write(session_, listener_cfg_->limits.send_timeout));
  // The connection is over: streams still running stop at their next step.
  for (Http2Stream* s = streams_; s != nullptr; s = s->next) {
    if (!s->closed) {
      nghttp2_session_set_stream_user_data(session_, s->id, nullptr);
      s->cut_reason = connection_error_;  // empty: the client went away
    }
    s->closed = true;
    if (s->upstream) s->upstream->Cancel();
    s->Wake();
  }
  for (Http2Stream* s = streams_; s != nullptr;) {
    Http2Stream* next = s->next;
    if (s->detached) StreamDone(s);  // no coroutine of its own to end it
    s = next;
  }
  while (running_ > 0) {
    streams_gone_.expires_at(SteadyTime::max());
    co_await streams_gone_.async_wait(kUseAwaitable);
  }
  while (streams_ != nullptr) StreamDone(streams_);  // heads that never completed
}

asio::awaitable<void> Http2Connection::ReadLoop(std::string pending) {
  const long rv = co_await io_.Read(session_, std::move(pending));
  if (rv < 0) {
    GoawayReason why = GoawayReason::kProtocolError;
    std::uint32_t code = NGHTTP2_PROTOCOL_ERROR;
    if (rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS) {
      why = GoawayReason::kContinuationFlood;
      code = NGHTTP2_ENHANCE_YOUR_CALM;
    } else if (rv == NGHTTP2_ERR_FLOODED) {
      why = GoawayReason::kControlFlood;
      code = NGHTTP2_ENHANCE_YOUR_CALM;
    }
    Terminate(why, code);
  }
  io_.ReaderDone();
}

void Http2Connection::Kick() noexcept { io_.Kick(); }

void Http2Connection::CheckDeadlines(SteadyTime now) noexcept {
  if (idle_dl_.Expire(now)) {
    Terminate(GoawayReason::kIdle, NGHTTP2_NO_ERROR);
  }
  io_.CheckDeadline(now);
  for (Http2Stream* s = streams_; s != nullptr; s = s->next) {
    if (!s->dl.Expire(now)) continue;
    if (listener_counters_) listener_counters_->CountExpired(s->dl.fired, worker_.index());
    if (s->detached) {
      s->SendExpired();
      continue;
    }
    if (s->upstream) s->upstream->Cancel();
    s->Wake();
  }
}

void Http2Connection::Drain() noexcept {
  if (draining_ || session_ == nullptr) return;
  draining_ = true;
  // Streams up to the last one started (whose HEADERS nghttp2 may still be processing) finish.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        std::max(nghttp2_session_get_last_proc_stream_id(session_), last_started_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  Kick();
}

void Http2Connection::Terminate(GoawayReason reason, std::uint32_t error_code) noexcept {
  CountGoaway(reason);
  nghttp2_session_terminate_session(session_, error_code);
  Kick();
}

void Http2Connection::CountGoaway(GoawayReason reason) noexcept {
  if (counted_goaway_) return;
  counted_goaway_ = true;
  if (reason != GoawayReason::kIdle) connection_error_ = GoawayStreamReason(reason);
  counters_->goaways[static_cast<std::size_t>(reason)]->Add(worker_.index());
  if (reason != GoawayReason::kIdle) {
    spdlog::info("http2: listener '{}': closing the connection from {}: {}", listener_, peer_.ip,
                 GoawayReasonToken(reason));
  }
}

bool Http2Connection::SpendControlBudget() noexcept {
  const SteadyTime now = worker_.now();
  if (now - budget_window_ >= std::chrono::seconds(1)) {
    budget_window_ = now;
    budget_used_ = 0;
  }
  return ++budget_used_ <= listener_cfg_->http2.max_control_frames_per_second;
}

void Http2Connection::MirrorResetBucket() noexcept {
  const auto& h = listener_cfg_->http2;
  const SteadyTime now = worker_.now();
  if (reset_refill_ == SteadyTime{}) {
    reset_tokens_ = h.reset_burst;
  } else {
    const double seconds = std::chrono::duration<double>(now - reset_refill_).count();
    reset_tokens_ = std::min<double>(h.reset_burst, reset_tokens_ + seconds * h.resets_per_second);
  }
  reset_refill_ = now;
  if (reset_tokens_ < 1) {
    reset_limit_hit_ = true;
  } else {
    reset_tokens_ -= 1;
  }
}

void Http2Connection::ArmIdle() noexcept {
  if (running_ == 0)
    idle_dl_.Set(TimeoutKind::kIdle, worker_.now(), listener_cfg_->limits.idle_timeout);
  else
    idle_dl_.Clear();
}

void Http2Connection::StartStream(Http2Stream& s) {
  s.started = true;
  last_started_ = s.id;
  ++running_;
  ++started_;
  ArmIdle();
  counters_->streams->Add(worker_.index());
  if (snap_ != worker_.snapshot()) Adopt();
  s.snap = snap_;
  s.listener = listener_cfg_;  // lives in s.snap
  const std::uint32_t max_requests = listener_cfg_->limits.max_requests_per_connection;
  if (worker_.draining() || (max_requests != 0 && started_ >= max_requests)) Drain();
  Http2Stream* sp = &s;
  asio::co_spawn(socket_.get_executor(), s.Run(), [this, sp](std::exception_ptr e) {
    if (!e) return;  // Run() ended with StreamDone() (`sp` is gone), or detached it
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("http2: listener '{}': stream {} failed: {}", listener_, sp->id, ex.what());
    } catch (...) {
      spdlog::error("http2: listener '{}': stream {} failed", listener_, sp->id);
    }
    if (!sp->closed)
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, sp->id, NGHTTP2_INTERNAL_ERROR);
    Kick();
    StreamDone(sp);
  });
}

void Http2Connection::StreamDone(Http2Stream* s) noexcept {
  if (s->started) {
    --running_;
    if (running_ == 0) {
      streams_gone_.cancel();
      ArmIdle();
    }
  }
  if (s->unconsumed > 0 && session_ && !io_.reader_done()) {
    // Bytes of a stream that ended before its body was used still count against the
    // connection window.
    nghttp2_session_consume_connection(session_, s->unconsumed);
    Kick();
  }
  if (!s->closed && session_) nghttp2_session_set_stream_user_data(session_, s->id, nullptr);
  if (s->prev)
    s->prev->next = s->next;
  else
    streams_ = s->next;
  if (s->next) s->next->prev = s->prev;
  ResponseSent(s->pending_response());  // what it still held goes with it
  s->GiveBuffers();
  std::unique_ptr<ExchangeState> st = std::move(s->st);
  delete s;
  if (st) worker_.GiveExchangeState(std::move(st));
}

void Http2Connection::OnFrameHeader(void* ctx, std::uint8_t type, std::int32_t stream_id) {
  Http2Connection& c = *static_cast<Http2Connection*>(ctx);
  nghttp2_session* session = c.session_;
  const bool headers = type == NGHTTP2_HEADERS;
  if (!nghttp2_session_want_read(session)) return;  // the session already ended
  if (nghttp2_session_get_stream_user_data(session, stream_id) != nullptr) return;  // open
  if (nghttp2_stream* open = nghttp2_session_find_stream(session, stream_id);
      open != nullptr && nghttp2_stream_get_state(open) != NGHTTP2_STREAM_STATE_IDLE &&
      nghttp2_stream_get_state(open) != NGHTTP2_STREAM_STATE_CLOSED) {
    return;
  }
  // After rampart's own GOAWAY, nghttp2 drops the streams it refuses: nothing to judge.
  if (c.draining_ || c.counted_goaway_) return;
  const LateFrameAnswer answer = c.closed_.Judge(stream_id, headers);
  if (headers) c.closed_.Opened(stream_id);
  switch (answer) {
    case LateFrameAnswer::kNone:
      return;
    case LateFrameAnswer::kResetStreamClosed:
      if (!c.SpendControlBudget()) {
        c.Terminate(GoawayReason::kControlFlood, NGHTTP2_ENHANCE_YOUR_CALM);
      } else {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_STREAM_CLOSED);
        c.Kick();
      }
      return;
    case LateFrameAnswer::kGoawayStreamClosed:
      c.Terminate(GoawayReason::kStreamClosed, NGHTTP2_STREAM_CLOSED);
      return;
    case LateFrameAnswer::kGoawayProtocolError:
      c.Terminate(GoawayReason::kProtocolError, NGHTTP2_PROTOCOL_ERROR);
      return;
  }
}

int Http2Connection::OnBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame,
                                    void* ud) {
  Http2Connection& c = Self(ud);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto* s = new Http2Stream(c, frame->hd.stream_id, c.worker_.TakeExchangeState());
  s->next = c.streams_;
  if (c.streams_) c.streams_->prev = s;
  c.streams_ = s;
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, s);
  return 0;
}

int Http2Connection::OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                              const std::uint8_t* name, std::size_t namelen,
                              const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                              void* ud) {
  Http2Connection& c = Self(ud);
  Http2Stream* s = StreamOf(session, frame->hd.stream_id);
  if (s == nullptr || s->started) return 0;  // trailers are not forwarded
  // RFC 7541 section 4.1 counts 32 bytes of overhead per field; so does MAX_HEADER_LIST_SIZE.
  s->header_list_bytes += namelen + valuelen + 32;
  const auto& limits = c.listener_cfg_->limits;
  if (s->header_list_bytes > limits.max_header_bytes ||
      s->st->request_headers.pending_size() >= limits.max_headers) {
    s->head_too_large = true;
    return 0;
  }
  s->AddHeader({reinterpret_cast<const char*>(name), namelen},
               {reinterpret_cast<const char*>(value), valuelen});
  return 0;
}

int Http2Connection::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
  Http2Connection& c = Self(ud);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      Http2Stream* s = StreamOf(session, frame->hd.stream_id);
      if (s == nullptr) return 0;
      if (end_stream) s->EndBody();
      if (!s->started && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->EndHeaders();
        c.StartStream(*s);
      } else {
        s->Wake();
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (frame->hd.length == 0 && !end_stream && !c.SpendControlBudget()) {
        c.Terminate(GoawayReason::kControlFlood, NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
      }
      if (Http2Stream* s = StreamOf(session, frame->hd.stream_id); s && end_stream) {
        s->EndBody();
        s->Wake();
      }
      return 0;
    }
    case NGHTTP2_RST_STREAM:
      c.last_client_reset_ = frame->hd.stream_id;  // nghttp2 closes the stream next
      c.counters_->resets->Add(c.worker_.index());
      c.MirrorResetBucket();
      return 0;
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) return 0;
      [[fallthrough]];
    case NGHTTP2_PRIORITY:
      if (!c.SpendControlBudget())
        c.Terminate(GoawayReason::kControlFlood, NGHTTP2_ENHANCE_YOUR_CALM);
      return 0;
    default:
      return 0;
  }
}

int Http2Connection::OnInvalidFrame(nghttp2_session*, const nghttp2_frame*, int, void* ud) {
  Http2Connection& c = Self(ud);
  if (!c.SpendControlBudget()) c.Terminate(GoawayReason::kControlFlood, NGHTTP2_ENHANCE_YOUR_CALM);
  return 0;
}

int Http2Connection::OnDataChunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                                 const std::uint8_t* data, std::size_t len, void* ud) {
  Http2Connection& c = Self(ud);
  Http2Stream* s = StreamOf(session, stream_id);
  if (s == nullptr || s->discard_body) {
    nghttp2_session_consume(session, stream_id, len);
    c.Kick();
    return 0;
  }
  s->ReceiveBody(data, len);
  s->Wake();
  return 0;
}

int Http2Connection::OnStreamClose(nghttp2_session* session, std::int32_t stream_id, std::uint32_t,
                                   void* ud) {
  Http2Connection& c = Self(ud);
  // How the stream ended decides the answer to frames that still arrive on it.
  ClosedHow how = ClosedHow::kLocalReset;
  if (stream_id == c.last_client_reset_) {
    how = ClosedHow::kRemoteReset;
  } else if (nghttp2_stream* st = nghttp2_session_find_stream(session, stream_id);
             st != nullptr &&
             nghttp2_stream_get_state(st) == NGHTTP2_STREAM_STATE_HALF_CLOSED_REMOTE) {
    how = ClosedHow::kRemoteEnded;  // both sides ended: nghttp2 reports half-closed (remote)
  }
  c.closed_.Closed(stream_id, how);
  Http2Stream* s = StreamOf(session, stream_id);
  if (s == nullptr) return 0;
  s->closed = true;
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  if (!s->started || s->detached) {
    c.StreamDone(s);
    return 0;
  }
  if (s->upstream) s->upstream->Cancel();
  s->Wake();
  return 0;
}

int Http2Connection::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
  Http2Connection& c = Self(ud);
  if (frame->hd.type == NGHTTP2_RST_STREAM &&
      nghttp2_session_find_stream(session, frame->hd.stream_id) == nullptr) {
    // A stream nghttp2 refused without opening it (REFUSED_STREAM): its frames may follow.
    c.closed_.Closed(frame->hd.stream_id, ClosedHow::kLocalReset);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_GOAWAY || frame->goaway.error_code == NGHTTP2_NO_ERROR) return 0;
  // A GOAWAY nghttp2 decided on itself: its reset limiter, or a protocol error it found.
  // nghttp2 names the connection error in the GOAWAY's debug data.
  const std::string_view debug(reinterpret_cast<const char*>(frame->goaway.opaque_data),
                               frame->goaway.opaque_data_len);
  c.CountGoaway(c.reset_limit_hit_ ? GoawayReason::kRapidReset
                : debug.find("max concurrent streams") != std::string_view::npos
                    ? GoawayReason::kStreamFlood
                    : GoawayReason::kProtocolError);
  return 0;
}

}  // namespace rampart::downstream
