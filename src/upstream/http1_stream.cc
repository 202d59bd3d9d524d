#include "upstream/http1_stream.h"

#include <boost/asio/error.hpp>

#include "http/request_target.h"
#include "net/socket_io.h"
#include "upstream/connect.h"

namespace rampart::upstream {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using http::Step;
using net::TimeoutKind;

namespace {
constexpr std::size_t kMaxResponseHead = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
}  // namespace

Http1Stream::Http1Stream(net::LoopContext& loop, ConnectionPool& pool, const UpstreamSpec& up,
                         const EndpointSpec& ep, ConnectionPool::Slot& slot,
                         observe::UpstreamSlot& stats, net::Deadline& dl, StreamBuffers bufs)
    : loop_(loop),
      pool_(pool),
      up_(up),
      ep_(ep),
      slot_(slot),
      stats_(stats),
      dl_(dl),
      bufs_(bufs) {}

Http1Stream::~Http1Stream() { End(StreamEnd::kClose); }

bool Http1Stream::TryPooled() {
  conn_ = pool_.TakeIdle(slot_, loop_.now());
  if (!conn_) return false;
  conn_->JoinInUse(slot_.in_use);
  conn_->owner = State();
  reused_ = true;
  stats_.connections_reused.Add();
  return true;
}

asio::awaitable<ExchangeError> Http1Stream::Open() {
  if (up_.connection_limit && !place_) {
    if (!up_.connection_limit->TryTake()) {
      ExchangeError full =
          ExchangeError::Upstream(ErrorKind::kBulkheadFull, Step::kConnect, false, true);
      full.detail = "the upstream has as many connections in use as it may (max_connections)";
      co_return full;
    }
    place_ = true;
  }
  if (TryPooled()) co_return ExchangeError{};
  conn_ = pool_.NewConnection();
  conn_->JoinInUse(slot_.in_use);
  conn_->owner = State();
  ExchangeError e = co_await Connect(loop_, up_, ep_, *conn_, dl_);
  if (e) {
    conn_.reset();
    GivePlace();
    co_return e;
  }
  stats_.connections_opened.Add();
  co_return e;
}

ExchangeError Http1Stream::WriteError(const boost::system::error_code& ec, Step step) const {
  if (!ec) return {};
  if (dl_.fired == TimeoutKind::kUpstream) {
    return ExchangeError::Upstream(ErrorKind::kTimeout, step, true, false);
  }
  // A pooled connection that fails on its first write was closed by the origin while idle: the
  // request never reached it.
  if (step == Step::kSendHead && reused_ && dl_.fired == TimeoutKind::kNone) {
    return ExchangeError::Upstream(ErrorKind::kStale, step, false, true);
  }
  return ExchangeError::Upstream(ErrorKind::kReset, step, true, false);
}

std::string_view Http1Stream::Framed(std::string_view body, bool end) {
  if (!chunked_) return body;
  bufs_.scratch.clear();
  if (!body.empty()) http::AppendChunk(bufs_.scratch, body);
  if (end) bufs_.scratch.append("0\r\n\r\n");
  return bufs_.scratch;
}

asio::awaitable<ExchangeError> Http1Stream::SendHead(const http::UpstreamRequest& request,
                                                     std::string_view body, bool end) {
  chunked_ = request.chunked;
  interim_ = 0;
  head_request_ = request.method == "HEAD";
  expect_switch_ = !request.upgrade.empty();
  http::BuildUpstreamRequestHead(bufs_.head, request);
  const std::string_view out = Framed(body, end);
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  asio::const_buffer bufs[2] = {asio::buffer(bufs_.head), asio::buffer(out.data(), out.size())};
  boost::system::error_code ec;
  // The common case, written at once, needs no coroutine frame for the write.
  if (!net::WriteNow(conn_->socket, conn_->tls.get(), bufs, ec))
    co_await net::WriteTo(loop_, conn_->socket, conn_->tls.get(), bufs, ec);
  ExchangeError e = WriteError(ec, Step::kSendHead);
  request_complete_ = !e && end;
  co_return e;
}

asio::awaitable<ExchangeError> Http1Stream::SendBody(std::string_view body, bool end) {
  const std::string_view out = Framed(body, end);
  if (out.empty()) {
    request_complete_ = end;
    co_return ExchangeError{};
  }
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  asio::const_buffer bufs[1] = {asio::buffer(out.data(), out.size())};
  boost::system::error_code ec;
  if (!net::WriteNow(conn_->socket, conn_->tls.get(), bufs, ec))
    co_await net::WriteTo(loop_, conn_->socket, conn_->tls.get(), bufs, ec);
  ExchangeError e = WriteError(ec, Step::kSendBody);
  request_complete_ = !e && end;
  co_return e;
}

ExchangeError Http1Stream::ReadError(Step step) const noexcept {
  if (dl_.fired == TimeoutKind::kUpstream) {
    return ExchangeError::Upstream(ErrorKind::kTimeout, step, true, false);
  }
  return ExchangeError::Upstream(ErrorKind::kReset, step, true, false);
}

asio::awaitable<ExchangeError> Http1Stream::ReadHead(ResponseHead& head, std::string& body,
                                                     bool& end) {
  const http::h1::ParserLimits limits{0, kMaxResponseHead, 256, 0};
  net::IoBuffer& in = bufs_.in;
  ReleaseHead();  // an interim head the caller has forwarded
  std::size_t consumed = 0;
  boost::system::error_code ec;
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  for (;;) {
    rp_.emplace(limits, bufs_.headers, bufs_.parsed);
    rp_->set_rechunk(false);
    if (head_request_) rp_->set_no_body();
    while (!rp_->header_done()) {
      if (in.size() > consumed) consumed += rp_->Feed(in.data() + consumed, in.size() - consumed);
      if (rp_->failure() != http::ParseFailure::kNone) {
        co_return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadHead, true, false);
      }
      if (rp_->header_done()) break;
      std::tie(ec, std::ignore) =
          co_await net::ReadInto(loop_.reactor(), conn_->socket, conn_->tls.get(), in, 4096,
                                 kMaxResponseHead + kReadChunk);
      loop_.RefreshNow();
      if (ec == asio::error::no_buffer_space) {  // a head larger than kMaxResponseHead
        co_return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadHead, true, false);
      }
      if (ec) co_return ReadError(Step::kReadHead);
    }
    const int status = rp_->status();
    if (status == 101) {
      if (!expect_switch_) {
        co_return ExchangeError::Upstream(ErrorKind::kUnexpectedSwitch, Step::kReadHead, true,
                                          false);
      }
      head.switching = true;
      break;
    }
    if (status >= 200) break;
    if (ForwardsInterim(status, interim_)) {
      // Its bytes stay in `in` (the fields point there) until the next ReadHead.
      ++interim_;
      FillHead(head, consumed);
      head.interim = true;
      head.no_body = true;
      bufs_.parsed.clear();
      co_return ExchangeError{};
    }
    // 100 Continue, or past kMaxInterimHeads: dropped; the final response follows.
    in.Consume(consumed);
    consumed = 0;
    bufs_.parsed.clear();
  }
  FillHead(head, consumed);
  const http::h1::BodyFraming f = rp_->framing();
  head.no_body = f == http::h1::BodyFraming::kNone;
  head.until_close = f == http::h1::BodyFraming::kUntilClose;
  if (f == http::h1::BodyFraming::kContentLength) head.content_length = rp_->content_length();
  MoveAppend(body, bufs_.parsed);
  end = rp_->done();
  co_return ExchangeError{};
}

void Http1Stream::FillHead(ResponseHead& head, std::size_t head_bytes) noexcept {
  head_bytes_ = head_bytes;
  head.status = rp_->status();
  head.headers = &bufs_.headers;
  head.protocol = rp_->version() == 10 ? "1.0" : "1.1";
}

void Http1Stream::ReleaseHead() noexcept {
  // The head's views are no longer used: its bytes go (the buffer may move after this).
  if (head_bytes_ > 0) {
    bufs_.in.Consume(head_bytes_);
    head_bytes_ = 0;
  }
}

asio::awaitable<ExchangeError> Http1Stream::ReadBody(std::string& body, bool& end) {
  ReleaseHead();
  net::IoBuffer& in = bufs_.in;
  dl_.Set(TimeoutKind::kUpstream, loop_.now(), up_.response_timeout);
  // Room for a trailer section, which the parser holds whole before consuming it.
  boost::system::error_code ec;
  std::tie(ec, std::ignore) =
      co_await net::ReadInto(loop_.reactor(), conn_->socket, conn_->tls.get(), in, kReadChunk,
                             kMaxResponseHead + kReadChunk);
  loop_.RefreshNow();
  if (ec == asio::error::no_buffer_space) {
    co_return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadBody, true, false);
  }
  if (ec == asio::error::eof && conn_->cut) {
    // The drain timeout shut the connection's reading side: not the origin's end of a body that
    // runs to the close.
    co_return ExchangeError::Upstream(ErrorKind::kReset, Step::kReadBody, true, false);
  }
  if (ec == asio::error::eof) {
    rp_->FeedEof();
    if (rp_->done()) {
      ended_at_close_ = true;
      end = true;
      co_return ExchangeError{};
    }
    co_return ExchangeError::Upstream(ErrorKind::kReset, Step::kReadBody, true, false);
  }
  if (ec) co_return ReadError(Step::kReadBody);
  in.Consume(rp_->Feed(in.data(), in.size()));
  if (rp_->failure() != http::ParseFailure::kNone) {
    co_return ExchangeError::Upstream(ErrorKind::kBadResponse, Step::kReadBody, true, false);
  }
  MoveAppend(body, bufs_.parsed);
  end = rp_->done();
  co_return ExchangeError{};
}

void Http1Stream::Cancel() noexcept {
  if (!conn_) return;
  boost::system::error_code ec;
  conn_->socket.cancel(ec);
}

const EndpointState* Http1Stream::State() const noexcept {
  if (!up_.health) return nullptr;
  const auto i = static_cast<std::size_t>(&ep_ - up_.endpoints.data());
  return i < up_.health->size() ? &up_.health->at(i) : nullptr;
}

bool Http1Stream::Draining() const noexcept {
  const EndpointState* s = State();
  return s != nullptr && s->draining.load(std::memory_order_relaxed);
}

void Http1Stream::GivePlace() noexcept {
  if (!place_) return;
  place_ = false;
  up_.connection_limit->Give();
}

void Http1Stream::End(StreamEnd how) noexcept {
  GivePlace();
  if (!conn_) return;
  conn_->LeaveInUse();
  if (conn_->cut) {
    conn_->Abort();
  } else if (how == StreamEnd::kComplete && request_complete_ && rp_ && rp_->done() &&
             rp_->keep_alive() && !ended_at_close_ && bufs_.in.size() == head_bytes_ &&
             !Draining()) {
    conn_->requests++;
    pool_.GiveBack(slot_, std::move(conn_), up_.max_idle_per_endpoint, up_.idle_timeout,
                   loop_.now());
  } else if (how == StreamEnd::kAbort) {
    conn_->Abort();
  }
  conn_.reset();
  ReleaseHead();
  bufs_.in.ReleaseIfEmpty();  // the next response takes a block when it arrives
  rp_.reset();
}

Stream::Tunnel Http1Stream::TakeTunnel() noexcept {
  ReleaseHead();  // what follows the 101 head is already WebSocket frames
  if (!conn_) return {};
  return {&conn_->socket, conn_->tls.get(), {bufs_.in.data(), bufs_.in.size()}};
}

}  // namespace rampart::upstream
