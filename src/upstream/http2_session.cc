#include "upstream/http2_session.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <cstring>

#include "net/h2_memory.h"
#include "net/tls/alpn.h"
#include "upstream/connect.h"

namespace rampart::upstream {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
// Response heads (and trailers) larger than this fail the exchange (502), as on HTTP/1.1.
constexpr std::size_t kMaxResponseHead = 64 * 1024;
constexpr std::uint32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 16 * 1024 * 1024;

Http2Session& Self(void* user_data) { return *static_cast<Http2Session*>(user_data); }

Http2Call* StreamOf(nghttp2_session* s, std::int32_t id) {
  return static_cast<Http2Call*>(nghttp2_session_get_stream_user_data(s, id));
}

}  // namespace

// --- Http2Call ---

Http2Call::Http2Call(asio::io_context& io, http::HeaderList& response_headers,
                     asio::steady_timer* wake)
    : own_wake_(io), wake_(wake ? wake : &own_wake_), headers_(response_headers) {
  headers_.clear();
}

Http2Call::~Http2Call() { Detach(); }

const Http2Call::InterimHead* Http2Call::TakeInterim() noexcept {
  if (interim_taken_ > 0) {  // the caller is done with the one it took last
    InterimHead& done = interim_[interim_taken_ - 1];
    std::string().swap(done.bytes);
    done.headers = http::HeaderList();
  }
  if (interim_taken_ < interim_.size()) return &interim_[interim_taken_++];
  if (head_done_ && !interim_.empty()) std::vector<InterimHead>().swap(interim_);
  return nullptr;
}

void Http2Call::Detach() noexcept {
  if (!session_) return;
  nghttp2_session* ng = session_->session_;
  if (!closed_) {
    nghttp2_session_set_stream_user_data(ng, id_, nullptr);
    nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    closed_ = true;
    session_->Unlink(*this);
  }
  // Bytes nobody took still count against the connection's window.
  if (unconsumed_ > 0) nghttp2_session_consume(ng, id_, unconsumed_);
  unconsumed_ = 0;
  session_->Kick();
  session_.reset();
}

void Http2Call::Write(std::string_view data) {
  if (closed_ || !session_ || data.empty()) return;
  req_.append(data);
  nghttp2_session_resume_data(session_->session_, id_);
  session_->Kick();
}

void Http2Call::EndRequest() {
  if (closed_ || !session_) return;
  req_end_ = true;
  nghttp2_session_resume_data(session_->session_, id_);
  session_->Kick();
}

asio::awaitable<void> Http2Call::Wait() {
  own_wake_.expires_at(SteadyTime::max());
  co_await own_wake_.async_wait(kUseAwaitable);
}

void Http2Call::Consume(std::size_t n) noexcept {
  n = std::min<std::size_t>(n, unconsumed_);
  if (n == 0 || !session_) return;
  unconsumed_ -= n;
  nghttp2_session_consume(session_->session_, id_, n);
  session_->Kick();
}

// --- Http2Session ---

Http2Session::Http2Session(net::LoopContext& loop, int worker, const UpstreamSpec& up,
                           const EndpointSpec& ep)
    : loop_(loop),
      worker_(worker),
      up_(up),
      ep_(ep),
      conn_(std::make_unique<UpstreamConnection>(loop.io())),
      io_(loop, conn_->socket, nullptr),
      ready_(loop.io()) {
  up_.endpoints.clear();  // only ep_ is used
}

Http2Session::~Http2Session() {
  if (session_) nghttp2_session_del(session_);
}

asio::awaitable<void> Http2Session::Run(std::shared_ptr<Http2Session> self) {
  Http2Session& s = *self;
  http::ExchangeError f = co_await Connect(s.loop_, s.up_, s.ep_, *s.conn_, s.connect_dl_);
  s.connect_dl_.Clear();
  const auto fail = [](http::ErrorKind k) {
    return http::ExchangeError::Upstream(k, http::Step::kConnect, false, true);
  };
  if (!f && s.conn_->tls) {
    if (tls::SelectedAlpn(s.conn_->tls->native_handle()) != "h2") {
      spdlog::warn("upstream '{}' {}: the origin did not select h2 in ALPN (protocol: h2)",
                   s.up_.name, s.ep_.key);
      f = fail(http::ErrorKind::kTls);
    }
  }
  if (!f && !s.Setup()) f = fail(http::ErrorKind::kConnectRefused);
  if (f) {
    s.connect_failure_ = f;
    s.state_ = State::kClosed;
    s.ready_.cancel();
    co_return;
  }
  s.up_.stats->slot(s.worker_).connections_opened.Add();
  s.state_ = State::kReady;
  s.ArmIdle();
  s.ready_.cancel();
  auto reader = [](Http2Session& us) -> asio::awaitable<void> {
    const long rv = co_await us.io_.Read(us.session_, {});
    if (rv < 0) {
      spdlog::warn("upstream '{}' {}: HTTP/2 session error: {}", us.up_.name, us.ep_.key,
                   nghttp2_strerror(static_cast<int>(rv)));
      nghttp2_session_terminate_session(us.session_, NGHTTP2_PROTOCOL_ERROR);
    }
    us.io_.ReaderDone();
  };
  using namespace asio::experimental::awaitable_operators;
  co_await (reader(s) && s.io_.Write(s.session_, s.up_.response_timeout));
  s.state_ = State::kClosed;
  error_code ignored;
  s.conn_->socket.close(ignored);
  s.CloseAll();
}

bool Http2Session::Setup() {
  io_.set_tls(conn_->tls.get());
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, OnFrameSend);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, OnFrameNotSend);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows are given back as the front end writes the bytes to its client (Consume).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_no_closed_streams(opt, 1);
  const int rv = nghttp2_session_client_new3(&session_, cbs, this, opt, net::H2Memory());
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, kMaxResponseHead},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  return true;
}

asio::awaitable<void> Http2Session::WaitReady() {
  while (state_ == State::kConnecting) {
    ready_.expires_at(SteadyTime::max());
    co_await ready_.async_wait(kUseAwaitable);
  }
}

bool Http2Session::TakesStreams() const noexcept {
  return state_ == State::kReady && !goaway_ &&
         open_ <
             nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

bool Http2Session::Open(Http2Call& s, std::span<const http::h2::Field> fields, bool has_body) {
  if (state_ != State::kReady || goaway_) return false;
  const std::vector<nghttp2_nv> nv = http::h2::ToNv(fields);
  nghttp2_data_provider prd{};
  prd.source.ptr = nullptr;  // the stream is looked up by id: it may be gone by the next call
  prd.read_callback = ReadRequest;
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(),
                                                 has_body ? &prd : nullptr, &s);
  if (id < 0) {
    goaway_ = true;  // stream ids are used up (or the session is closing): no more streams here
    if (open_ == 0) Retire();
    return false;
  }
  s.session_ = shared_from_this();
  s.id_ = id;
  s.next_ = streams_;
  s.prev_ = nullptr;
  if (streams_) streams_->prev_ = &s;
  streams_ = &s;
  ++open_;
  idle_dl_.Clear();
  Kick();
  return true;
}

void Http2Session::Unlink(Http2Call& s) noexcept {
  if (s.prev_)
    s.prev_->next_ = s.next_;
  else
    streams_ = s.next_;
  if (s.next_) s.next_->prev_ = s.prev_;
  s.next_ = s.prev_ = nullptr;
  --open_;
  if (open_ == 0 && goaway_ && state_ == State::kReady) {
    nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
    Kick();
  }
  ArmIdle();
}

void Http2Session::CloseAll() noexcept {
  while (streams_ != nullptr) {
    Http2Call& s = *streams_;
    s.closed_ = true;
    s.refused_ = !s.head_sent_;  // never reached the origin: safe to send elsewhere
    nghttp2_session_set_stream_user_data(session_, s.id_, nullptr);
    Unlink(s);
    s.Wake();
  }
}

void Http2Session::ArmIdle() noexcept {
  if (open_ == 0 && state_ == State::kReady)
    idle_dl_.Set(net::TimeoutKind::kIdle, loop_.now(), up_.idle_timeout);
  else
    idle_dl_.Clear();
}

void Http2Session::CheckDeadlines(SteadyTime now) noexcept {
  if (connect_dl_.Expire(now)) {
    error_code ec;
    conn_->socket.cancel(ec);
  }
  io_.CheckDeadline(now);
  if (idle_dl_.Expire(now)) Retire();
}

void Http2Session::Retire() noexcept {
  // No new streams; the connection ends (GOAWAY, then close) once the last one has. A client's
  // GOAWAY only names streams the server started, so sending it earlier tells the origin
  // nothing; and when it was sent early, the stream in flight never got its answer (a drain
  // with a request in flight hung until the drain timeout).
  goaway_ = true;
  if (state_ != State::kReady || open_ > 0) return;
  nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
  Kick();
}

std::size_t Http2Session::Cut() noexcept {
  goaway_ = true;
  if (state_ == State::kClosed || cut_) return 0;
  cut_ = true;
  const std::size_t streams = open_;
  error_code ec;
  conn_->socket.cancel(ec);
  conn_->socket.shutdown(asio::socket_base::shutdown_both, ec);
  return streams;
}

int Http2Session::OnHeader(nghttp2_session* session, const nghttp2_frame* frame,
                           const std::uint8_t* name, std::size_t namelen, const std::uint8_t* value,
                           std::size_t valuelen, std::uint8_t, void*) {
  Http2Call* s = StreamOf(session, frame->hd.stream_id);
  if (s == nullptr || frame->hd.type != NGHTTP2_HEADERS) return 0;
  const std::string_view n(reinterpret_cast<const char*>(name), namelen);
  const std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  s->head_list_bytes_ += namelen + valuelen + 32;  // RFC 7541 section 4.1
  if (s->head_list_bytes_ > kMaxResponseHead) {
    s->head_too_large_ = true;
    return 0;
  }
  if (s->head_done_) {
    s->trailers_.AppendCopy(s->trailer_bytes_, n, v);
    return 0;
  }
  if (n == ":status") {
    int code = 0;
    for (char c : v) code = code * 10 + (c - '0');  // nghttp2 checked: three digits
    s->status_ = code;
    return 0;
  }
  if (n.starts_with(':')) return 0;
  if (n == "content-length") {
    std::uint64_t length = 0;  // nghttp2 checked: digits only
    for (char c : v) length = length * 10 + static_cast<std::uint64_t>(c - '0');
    s->content_length_ = length;
  }
  s->headers_.AppendCopy(s->head_bytes_, n, v);
  return 0;
}

int Http2Session::OnFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* ud) {
  Http2Session& us = Self(ud);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    // Streams above its last stream id are closed by nghttp2 as refused; the rest finish.
    us.goaway_ = true;
    if (us.open_ == 0) us.Retire();
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA) return 0;
  Http2Call* s = StreamOf(session, frame->hd.stream_id);
  if (s == nullptr) return 0;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    s->responded_ = true;
    if (!s->head_done_ && s->status_ >= 100 && s->status_ < 200) {
      // An interim response, kept for the client when it is one to forward; the final one
      // follows.
      if (ForwardsInterim(s->status_, s->interim_.size()) && !s->head_too_large_) {
        if (s->interim_.empty()) s->interim_.reserve(kMaxInterimHeads);
        Http2Call::InterimHead& h = s->interim_.emplace_back();
        h.status = s->status_;
        h.bytes = std::move(s->head_bytes_);
        h.headers = std::move(s->headers_);
        h.headers.Resolve(h.bytes.data());
        s->Wake();
      }
      s->headers_.clear();
      s->head_bytes_.clear();
      s->head_list_bytes_ = 0;
      s->content_length_.reset();
      s->status_ = 0;
      return 0;
    }
    if (!s->head_done_) {
      s->headers_.Resolve(s->head_bytes_.data());
      s->head_done_ = true;
      s->head_list_bytes_ = 0;  // trailers get the same budget
    } else {
      s->trailers_.Resolve(s->trailer_bytes_.data());
    }
  }
  if (end_stream) s->ended_ = true;
  s->Wake();
  return 0;
}

int Http2Session::OnDataChunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                              const std::uint8_t* data, std::size_t len, void* ud) {
  Http2Call* s = StreamOf(session, stream_id);
  if (s == nullptr) {  // abandoned: the bytes only give their window back
    nghttp2_session_consume(session, stream_id, len);
    Self(ud).Kick();
    return 0;
  }
  s->body_.append(reinterpret_cast<const char*>(data), len);
  s->unconsumed_ += len;
  s->Wake();
  return 0;
}

int Http2Session::OnStreamClose(nghttp2_session* session, std::int32_t stream_id,
                                std::uint32_t error_code, void* ud) {
  Http2Call* s = StreamOf(session, stream_id);
  if (s == nullptr) return 0;
  s->closed_ = true;
  // REFUSED_STREAM, or above the last stream id of a GOAWAY (nghttp2 closes those as refused):
  // the origin did not process it (RFC 9113 section 8.7), unless it already answered (an interim
  // head went to the client: sending the request again would repeat it).
  s->refused_ = !s->responded_ && (error_code == NGHTTP2_REFUSED_STREAM || !s->head_sent_);
  nghttp2_session_set_stream_user_data(session, stream_id, nullptr);
  Self(ud).Unlink(*s);
  s->Wake();
  return 0;
}

int Http2Session::OnFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void*) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (Http2Call* s = StreamOf(session, frame->hd.stream_id)) s->head_sent_ = true;
  return 0;
}

int Http2Session::OnFrameNotSend(nghttp2_session* session, const nghttp2_frame* frame, int,
                                 void* ud) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  Http2Call* s = StreamOf(session, frame->hd.stream_id);
  if (s == nullptr) return 0;
  s->closed_ = true;
  s->refused_ = true;
  nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, nullptr);
  Self(ud).Unlink(*s);
  s->Wake();
  return 0;
}

ssize_t Http2Session::ReadRequest(nghttp2_session* session, std::int32_t stream_id,
                                  std::uint8_t* buf, std::size_t len, std::uint32_t* flags,
                                  nghttp2_data_source*, void*) {
  Http2Call* s = StreamOf(session, stream_id);
  if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const bool was_full = s->unsent() >= Http2Call::kRequestHighWater;
  const std::size_t n = std::min(len, s->unsent());
  if (n > 0) std::memcpy(buf, s->req_.data() + s->req_off_, n);
  s->req_off_ += n;
  if (s->req_off_ == s->req_.size()) {
    s->req_.clear();
    s->req_off_ = 0;
  }
  if (s->req_end_ && s->unsent() == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  } else if (n == 0) {
    return NGHTTP2_ERR_DEFERRED;
  }
  if (was_full && s->unsent() < Http2Call::kRequestHighWater) s->Wake();
  return static_cast<ssize_t>(n);
}

// --- Http2Sessions ---

std::shared_ptr<Http2Session> Http2Sessions::Get(net::LoopContext& loop, int worker,
                                                 const UpstreamSpec& up, const EndpointSpec& ep) {
  auto& list = by_key_[ep.key];
  std::shared_ptr<Http2Session> connecting;
  std::erase_if(list, [](const auto& s) { return s->state() == Http2Session::State::kClosed; });
  for (auto& s : list) {
    if (!s->ready_or_connecting()) continue;  // retired: finishing its streams
    if (s->tls_identity() != up.tls.get()) {  // opened under settings a reload replaced
      s->Retire();
      continue;
    }
    if (s->TakesStreams()) return s;
    if (s->state() == Http2Session::State::kConnecting && !connecting) connecting = s;
  }
  if (connecting) return connecting;
  auto s = std::make_shared<Http2Session>(loop, worker, up, ep);
  list.push_back(s);
  asio::co_spawn(loop.io(), Http2Session::Run(s), asio::detached);
  return s;
}

void Http2Sessions::CheckDeadlines(SteadyTime now) noexcept {
  for (auto& [_, list] : by_key_) {
    for (auto& s : list) s->CheckDeadlines(now);
    std::erase_if(list, [](const auto& s) { return s->state() == Http2Session::State::kClosed; });
  }
}

void Http2Sessions::RetireExcept(const std::function<bool(std::string_view)>& kept) {
  for (auto& [key, list] : by_key_) {
    if (kept(key)) continue;
    for (auto& s : list) s->Retire();
  }
}

void Http2Sessions::Retire(std::string_view key) {
  if (auto it = by_key_.find(std::string(key)); it != by_key_.end()) {
    for (auto& s : it->second) s->Retire();
  }
}

std::size_t Http2Sessions::Cut(std::string_view key) {
  std::size_t n = 0;
  if (auto it = by_key_.find(std::string(key)); it != by_key_.end()) {
    for (auto& s : it->second) n += s->Cut();
  }
  return n;
}

void Http2Sessions::RetireAll() noexcept {
  for (auto& [_, list] : by_key_) {
    for (auto& s : list) s->Retire();
  }
}

}  // namespace rampart::upstream
