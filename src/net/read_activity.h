// Reads the worker's event loop completed, for its busy polling (server/worker.cc): a thread's
// count of socket reads that brought bytes, an end or an error, and a wake-up for a poller that
// stopped polling and sleeps in epoll_wait until the next one. One per thread: a worker's loop
// runs on its own thread.
#pragma once

#include <cstdint>

namespace rampart::net {

struct ReadActivity {
  std::uint64_t reads = 0;
  // Set by a poller going to sleep: the next read calls wake(ctx) (once) so polling resumes.
  bool watching = false;
  void (*wake)(void*) = nullptr;
  void* ctx = nullptr;
};

inline thread_local ReadActivity t_read_activity;

inline void NoteRead() noexcept {
  ReadActivity& a = t_read_activity;
  ++a.reads;
  if (a.watching) {
    a.watching = false;
    a.wake(a.ctx);
  }
}

}  // namespace rampart::net
