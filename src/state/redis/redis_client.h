// One pipelined Redis connection owned by one worker: commands are encoded by hiredis, written
// back to back on an Asio socket, and their replies (decoded by hiredis's reader) complete the
// callers in order. A command that gets no reply within the timeout closes the connection (the
// reply stream cannot be resynchronised) and fails every pending command; the client then
// reconnects in the background while callers see up() == false and take their fallback without
// waiting.
#pragma once

#include <atomic>
#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "state/redis/redis_options.h"

namespace rampart::state::redis {

struct Reply {
  enum class Type : std::uint8_t { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  std::int64_t integer = 0;
  std::string str;  // string, status or error text
  std::vector<Reply> elements;
  bool is_error() const noexcept { return type == Type::kError; }
};

// Written by the owning worker, read by the admin thread when scraped.
struct ClientStats {
  std::atomic<std::uint64_t> commands{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> connection_errors{0};
  std::atomic<std::uint64_t> connects{0};
  std::atomic<bool> up{false};
};

class Client : public std::enable_shared_from_this<Client> {
 public:
  using Handler = boost::asio::any_completion_handler<void(boost::system::error_code, Reply)>;

  Client(boost::asio::any_io_executor ex, Options options, std::string name);
  ~Client();

  // Starts connecting (and reconnecting whenever the connection is lost).
  void Start();
  void Stop();
  bool up() const noexcept { return stats_.up.load(std::memory_order_relaxed); }
  // A new client's first connection attempt has not ended yet: a caller may wait for it (it is
  // bounded by the timeout) rather than take its fallback while the client is merely starting.
  bool starting() const noexcept { return !first_attempt_done_; }
  boost::asio::awaitable<void> AwaitFirstAttempt();
  const ClientStats& stats() const noexcept { return stats_; }

  // Sends one command. Only call while up(); completes with operation_aborted style errors
  // (timed_out, connection lost) or the reply, which may itself be a Redis error.
  boost::asio::awaitable<Reply> Call(const std::vector<std::string_view>& argv,
                                     boost::system::error_code& ec);

 private:
  struct Pending {
    Handler handler;
    std::chrono::steady_clock::time_point deadline;
  };
  void Enqueue(const std::vector<std::string_view>& argv, Handler h);
  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<bool> Connect();
  boost::asio::awaitable<void> ReadLoop();
  boost::asio::awaitable<void> WriteLoop();
  boost::asio::awaitable<void> WatchTimeouts();
  void Fail(boost::system::error_code ec);

  boost::asio::any_io_executor ex_;
  Options options_;
  std::string name_;
  boost::asio::ip::tcp::socket socket_;
  boost::asio::steady_timer timeout_timer_;
  boost::asio::steady_timer retry_timer_;
  boost::asio::steady_timer lost_timer_;     // Run() waits on it while connected; Fail() cancels it
  boost::asio::steady_timer first_attempt_;  // cancelled when the first attempt ends
  bool first_attempt_done_ = false;
  void* reader_;  // redisReader*
  std::deque<Pending> pending_;
  std::string out_, writing_buf_;
  bool writing_ = false;
  bool stopped_ = false;
  std::uint64_t connection_ = 0;  // generation: loops of a lost connection stop
  int failures_ = 0;              // connections lost or refused since the last reply
  ClientStats stats_;
};

}  // namespace rampart::state::redis
