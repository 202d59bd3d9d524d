// For tests: a real redis-server on a free loopback port, started by fork/exec and killed at
// the end, with a synchronous hiredis connection to look at what it holds.
#pragma once

#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace rampart::state::testing {

inline int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

class RedisServer {
 public:
  RedisServer() : port_(FreePort()) {
    pid_ = fork();
    if (pid_ == 0) {
      // A test process that dies (an abort, a sanitizer report) takes its server with it: a
      // server left behind would hold the test runner's output pipe open.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const std::string p = std::to_string(port_);
      execlp("redis-server", "redis-server", "--port", p.c_str(), "--bind", "127.0.0.1", "--save",
             "", "--appendonly", "no", nullptr);
      _exit(127);
    }
    for (int i = 0; i < 200 && ctx_ == nullptr; ++i) {  // bounded wait for the port to open
      redisContext* c = redisConnect("127.0.0.1", port_);
      if (c != nullptr && c->err == 0) {
        ctx_ = c;
      } else {
        if (c != nullptr) redisFree(c);
        usleep(20'000);
      }
    }
  }
  ~RedisServer() {
    if (ctx_ != nullptr) redisFree(ctx_);
    if (pid_ > 0) {
      kill(pid_, SIGCONT);
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  bool up() const noexcept { return ctx_ != nullptr; }
  int port() const noexcept { return port_; }
  redisContext* context() const noexcept { return ctx_; }
  // Stops (SIGSTOP) or resumes (SIGCONT) the server: a store that stops answering.
  void Pause(bool paused) { kill(pid_, paused ? SIGSTOP : SIGCONT); }

 private:
  int port_;
  pid_t pid_ = -1;
  redisContext* ctx_ = nullptr;
};

}  // namespace rampart::state::testing
