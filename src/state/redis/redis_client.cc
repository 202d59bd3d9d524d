#include "state/redis/redis_client.h"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace rampart::state::redis {
namespace asio = boost::asio;
using boost::system::error_code;

namespace {

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  if (r->type == REDIS_REPLY_INTEGER) out.integer = r->integer;
  if (r->str != nullptr) out.str.assign(r->str, r->len);
  for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
  return out;
}

redisReader* AsReader(void* p) { return static_cast<redisReader*>(p); }

}  // namespace

Client::Client(asio::any_io_executor ex, Options options, std::string name)
    : ex_(ex),
      options_(std::move(options)),
      name_(std::move(name)),
      socket_(ex),
      timeout_timer_(ex),
      retry_timer_(ex),
      lost_timer_(ex),
      first_attempt_(ex),
      reader_(redisReaderCreate()) {}

Client::~Client() { redisReaderFree(AsReader(reader_)); }

void Client::Start() {
  asio::co_spawn(
      ex_, [self = shared_from_this()]() { return self->Run(); }, asio::detached);
}

asio::awaitable<void> Client::AwaitFirstAttempt() {
  auto self = shared_from_this();
  while (!first_attempt_done_ && !stopped_) {
    error_code ec;
    first_attempt_.expires_at(std::chrono::steady_clock::time_point::max());
    co_await first_attempt_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void Client::Stop() {
  stopped_ = true;
  first_attempt_.cancel();
  retry_timer_.cancel();
  Fail(asio::error::operation_aborted);
}

asio::awaitable<void> Client::Run() {
  auto self = shared_from_this();
  bool reported_down = false;
  while (!stopped_) {
    const bool connected = co_await Connect();
    if (connected) stats_.up.store(true, std::memory_order_relaxed);
    if (!first_attempt_done_) {
      first_attempt_done_ = true;
      first_attempt_.cancel();
    }
    if (connected) {
      ++stats_.connects;
      reported_down = false;
      spdlog::info("redis {}: connected", name_);
      error_code ec;
      lost_timer_.expires_at(std::chrono::steady_clock::time_point::max());
      co_await lost_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!stopped_)
        spdlog::warn("redis {}: connection lost; reconnecting in the background", name_);
    } else if (!reported_down) {  // once per outage, not once per attempt
      spdlog::warn("redis {}: cannot connect to {}:{}; retrying every {}ms", name_, options_.host,
                   options_.port, options_.reconnect_interval.count() / 1000);
      reported_down = true;
    }
    stats_.up.store(false, std::memory_order_relaxed);
    if (stopped_) break;
    // Back off while Redis keeps failing (a slow Redis accepts connections, then times out):
    // the interval doubles per failure without a reply in between, up to 16x or 5 s.
    ++failures_;
    const auto cap =
        std::max<std::chrono::microseconds>(options_.reconnect_interval, std::chrono::seconds(5));
    const auto wait = std::min<std::chrono::microseconds>(
        options_.reconnect_interval * (1 << std::min(failures_ - 1, 4)), cap);
    error_code ec;
    retry_timer_.expires_after(wait);
    co_await retry_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<bool> Client::Connect() {
  error_code ec;
  socket_ = asio::ip::tcp::socket(ex_);
  redisReaderFree(AsReader(reader_));
  reader_ = redisReaderCreate();
  auto addr = asio::ip::make_address(options_.host, ec);
  if (ec) co_return false;
  // The connect attempt is bounded by the command timeout.
  asio::steady_timer guard(ex_);
  guard.expires_after(options_.timeout);
  guard.async_wait([this](error_code e) {
    if (!e) socket_.close();
  });
  co_await socket_.async_connect({addr, options_.port},
                                 asio::redirect_error(asio::use_awaitable, ec));
  guard.cancel();
  if (ec || !socket_.is_open()) {
    ++stats_.connection_errors;
    socket_.close(ec);
    co_return false;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  ++connection_;
  asio::co_spawn(ex_, ReadLoop(), asio::detached);
  asio::co_spawn(ex_, WatchTimeouts(), asio::detached);
  // AUTH and SELECT first; callers see up() only after they succeeded.
  std::vector<std::vector<std::string>> setup;
  if (!options_.password.empty()) setup.push_back({"AUTH", options_.password});
  if (options_.database != 0) setup.push_back({"SELECT", std::to_string(options_.database)});
  for (const auto& cmd : setup) {
    std::vector<std::string_view> argv(cmd.begin(), cmd.end());
    Reply r = co_await Call(argv, ec);
    if (ec || r.is_error()) {
      spdlog::error("redis {}: {} refused: {}", name_, cmd[0], ec ? ec.message() : r.str);
      Fail(asio::error::access_denied);
      co_return false;
    }
  }
  co_return socket_.is_open();
}

asio::awaitable<Reply> Client::Call(const std::vector<std::string_view>& argv, error_code& ec) {
  auto token = asio::as_tuple(asio::use_awaitable);
  auto [e, reply] = co_await asio::async_initiate<decltype(token), void(error_code, Reply)>(
      [this, &argv](auto handler) { Enqueue(argv, Handler(std::move(handler))); }, token);
  ec = e;
  co_return std::move(reply);
}

void Client::Enqueue(const std::vector<std::string_view>& argv, Handler h) {
  if (!socket_.is_open()) {
    asio::post(ex_,
               [h = std::move(h)]() mutable { std::move(h)(asio::error::not_connected, Reply{}); });
    return;
  }
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (auto a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  char* cmd = nullptr;
  int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), args.data(), lens.data());
  if (n < 0) {
    asio::post(ex_,
               [h = std::move(h)]() mutable { std::move(h)(asio::error::no_memory, Reply{}); });
    return;
  }
  out_.append(cmd, static_cast<std::size_t>(n));
  redisFreeCommand(cmd);
  ++stats_.commands;
  const bool arm = pending_.empty();
  pending_.push_back({std::move(h), std::chrono::steady_clock::now() + options_.timeout});
  if (arm) timeout_timer_.cancel();  // the watcher re-arms on the new oldest deadline
  if (!writing_) {
    writing_ = true;
    asio::co_spawn(ex_, WriteLoop(), asio::detached);
  }
}

asio::awaitable<void> Client::WriteLoop() {
  auto self = shared_from_this();
  const std::uint64_t conn = connection_;
  // Everything enqueued while a write is in flight goes out in the next one: pipelining.
  while (!out_.empty() && conn == connection_) {
    writing_buf_.swap(out_);
    out_.clear();
    error_code ec;
    co_await asio::async_write(socket_, asio::buffer(writing_buf_),
                               asio::redirect_error(asio::use_awaitable, ec));
    writing_buf_.clear();
    if (ec) {
      if (conn == connection_) Fail(ec);
      break;
    }
  }
  writing_ = false;
}

asio::awaitable<void> Client::ReadLoop() {
  auto self = shared_from_this();
  const std::uint64_t conn = connection_;
  char buf[16 * 1024];
  while (conn == connection_ && socket_.is_open()) {
    error_code ec;
    std::size_t n = co_await socket_.async_read_some(asio::buffer(buf),
                                                     asio::redirect_error(asio::use_awaitable, ec));
    if (conn != connection_) co_return;
    if (ec) {
      ++stats_.connection_errors;
      Fail(ec);
      co_return;
    }
    redisReaderFeed(AsReader(reader_), buf, n);
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(AsReader(reader_), &raw) != REDIS_OK) {
        Fail(asio::error::invalid_argument);
        co_return;
      }
      if (raw == nullptr) break;
      Reply r = Convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      failures_ = 0;           // Redis answers: reconnect promptly next time
      if (pending_.empty()) {  // a reply nobody asked for: the stream is out of step
        Fail(asio::error::invalid_argument);
        co_return;
      }
      // Posted, not called: the caller resumes on its own turn, not inside this loop.
      asio::post(ex_, [h = std::move(pending_.front().handler), r = std::move(r)]() mutable {
        std::move(h)(error_code{}, std::move(r));
      });
      pending_.pop_front();
    }
  }
}

asio::awaitable<void> Client::WatchTimeouts() {
  auto self = shared_from_this();
  const std::uint64_t conn = connection_;
  while (conn == connection_ && !stopped_) {
    error_code ec;
    if (pending_.empty()) {
      timeout_timer_.expires_at(std::chrono::steady_clock::time_point::max());
    } else {
      timeout_timer_.expires_at(pending_.front().deadline);
    }
    co_await timeout_timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (conn != connection_) co_return;
    if (!ec && !pending_.empty() && pending_.front().deadline <= std::chrono::steady_clock::now()) {
      ++stats_.timeouts;
      spdlog::warn("redis {}: no reply within {}ms; reconnecting", name_,
                   options_.timeout.count() / 1000);
      Fail(asio::error::timed_out);
      co_return;
    }
  }
}

void Client::Fail(error_code ec) {
  ++connection_;  // the loops of this connection stop at their next step
  stats_.up.store(false, std::memory_order_relaxed);
  error_code ignored;
  socket_.close(ignored);
  timeout_timer_.cancel();
  lost_timer_.cancel();
  out_.clear();
  auto failed = std::move(pending_);
  pending_.clear();
  for (auto& p : failed) {
    asio::post(ex_, [h = std::move(p.handler), ec]() mutable { std::move(h)(ec, Reply{}); });
  }
}

}  // namespace rampart::state::redis
