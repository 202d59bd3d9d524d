// A receive on a plain TCP socket through Asio's epoll reactor that knows when the socket is
// drained, so the next receive waits for epoll instead of first trying a recv that fails with
// EAGAIN.
//
// Asio registers every socket with epoll once, edge-triggered, and starts each read by trying the
// syscall at once ("speculatively"); it only skips that try after a read returned 0 bytes. On a
// keep-alive connection that is one recv failing with EAGAIN for every request on each side: the
// next request, and the origin's next response, are never there yet when the read starts. nginx
// avoids it by marking the socket not ready after a read that drained it, and an edge from epoll
// marks it ready again. This does the same inside Asio's reactor: the socket gets TCP_INQ
// (Linux 4.18), every recvmsg then reports how many bytes are still queued, and a read that left
// none (and no FIN: the kernel reports a pending FIN as one byte) tells the reactor the socket is
// exhausted. Asio clears that state itself on the next edge, under the same descriptor lock, so
// no edge can be lost. A reset is the one end TCP_INQ does not report, so a read whose socket
// epoll last saw hung up or in error (EPOLLHUP, EPOLLERR, as nginx's `pending_eof`) never marks
// it exhausted. Without TCP_INQ the receive behaves exactly like async_receive.
//
// The read can also take its destination from an IoBuffer only when the socket is readable: a
// connection waiting for its next request then holds no buffer, and needs no 1-byte peek to wait.
//
// This reaches into Asio's detail layer (reactor_op, epoll_reactor::start_op), which Boost has kept
// stable across releases; the build pins the Boost version (Debian 12's 1.81), and the unit tests
// in drained_recv_test.cc exercise every path on real sockets.
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstring>
#include <span>

#include "net/io_buffer.h"
#include "net/read_activity.h"

#if !defined(BOOST_ASIO_HAS_EPOLL) || defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#error "drained_recv.h needs Asio's epoll reactor"
#endif

namespace rampart::net {

using Reactor = boost::asio::detail::reactor;

// Turns on the queued-bytes report (TCP_INQ) on a connected TCP socket. False when the kernel
// refuses it; reads on the socket then behave like plain async_receive.
inline bool EnableDrainedRecv(boost::asio::ip::tcp::socket& s) noexcept {
  int one = 1;
  return ::setsockopt(s.native_handle(), IPPROTO_TCP, TCP_INQ, &one, sizeof(one)) == 0;
}

// Where a receive puts its bytes.
struct SpanTarget {
  std::span<char> into;
  std::span<char> Prepare() noexcept { return into; }
  void Commit(std::size_t) noexcept {}
  void Release() noexcept {}
};
struct BufferTarget {
  IoBuffer* buf;
  std::size_t min;
  std::size_t max_total;
  std::span<char> Prepare() { return buf->Prepare(min, max_total); }
  void Commit(std::size_t n) noexcept { buf->Commit(n); }
  void Release() noexcept { buf->ReleaseIfEmpty(); }
};

namespace detail {

namespace adetail = boost::asio::detail;

// basic_socket keeps its implementation protected; a pointer to member named through a derived
// class reads it from any socket.
struct SocketAccess : boost::asio::ip::tcp::socket {
  static auto& Impl(boost::asio::ip::tcp::socket& s) noexcept {
    return (s.*(&SocketAccess::impl_)).get_implementation();
  }
};

// The events epoll last reported for a socket. Asio keeps them in the socket's descriptor state
// (scheduler_operation::task_result_, protected; descriptor_state derives from it privately)
// until the next wake-up, so a read can see them: the member pointer is named through a derived
// class, and the C-style cast is the one cast that reaches a private base.
struct ReadyEventsAccess : adetail::scheduler_operation {
  static const unsigned int* Of(Reactor::per_descriptor_data d) noexcept {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"
    auto* op = (adetail::scheduler_operation*)d;
#pragma GCC diagnostic pop
    return &(op->*(&ReadyEventsAccess::task_result_));
  }
};

// True when the recvmsg's TCP_INQ report says nothing (not even a FIN) is left to read.
inline bool NothingQueued(msghdr& msg) noexcept {
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_TCP && c->cmsg_type == TCP_CM_INQ) {
      int inq = 0;
      std::memcpy(&inq, CMSG_DATA(c), sizeof(inq));
      return inq == 0;
    }
  }
  return false;
}

template <typename Target>
class DrainedRecvOpBase : public adetail::reactor_op {
 public:
  DrainedRecvOpBase(int fd, const unsigned int* ready_events, Target target, func_type complete)
      : reactor_op(boost::system::error_code(), &DrainedRecvOpBase::DoPerform, complete),
        fd_(fd),
        ready_events_(ready_events),
        target_(target) {}

  static status DoPerform(reactor_op* base) {
    auto* o = static_cast<DrainedRecvOpBase*>(base);
    std::span<char> space = o->target_.Prepare();
    if (space.empty()) {
      o->ec_ = boost::asio::error::no_buffer_space;
      return done;
    }
    iovec iov{space.data(), space.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    for (;;) {
      ssize_t n = ::recvmsg(o->fd_, &msg, 0);
      if (n > 0) {
        NoteRead();
        o->bytes_transferred_ = static_cast<std::size_t>(n);
        o->target_.Commit(static_cast<std::size_t>(n));
        // TCP_INQ reports a pending FIN, but not a reset: one that came with (or after) these
        // bytes and before this read was already reported by epoll (EPOLLHUP, EPOLLERR), and
        // no new edge will follow it. The next read must then try the socket, and find it.
        const bool reset = (*o->ready_events_ & (EPOLLERR | EPOLLHUP)) != 0;
        return NothingQueued(msg) && !reset ? done_and_exhausted : done;
      }
      o->target_.Release();
      if (n == 0) {
        NoteRead();
        o->ec_ = boost::asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

 private:
  int fd_;
  const unsigned int* ready_events_;  // the socket's last epoll events (ReadyEventsAccess)
  Target target_;
};

template <typename Target, typename Handler, typename IoExecutor>
class DrainedRecvOp : public DrainedRecvOpBase<Target> {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(DrainedRecvOp);

  DrainedRecvOp(int fd, const unsigned int* ready_events, Target target, Handler& handler,
                const IoExecutor& io_ex)
      : DrainedRecvOpBase<Target>(fd, ready_events, target, &DrainedRecvOp::DoComplete),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  // As Asio's own reactive_socket_recv_op: free the op before the upcall, then complete through
  // the handler's executor.
  static void DoComplete(void* owner, adetail::operation* base, const boost::system::error_code&,
                         std::size_t) {
    auto* o = static_cast<DrainedRecvOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    adetail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    adetail::binder2<Handler, boost::system::error_code, std::size_t> handler(
        o->handler_, o->ec_, o->bytes_transferred_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {
      adetail::fenced_block b(adetail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  Handler handler_;
  adetail::handler_work<Handler, IoExecutor> work_;
};

// Per-operation cancellation (awaitable operators, cancellation signals), as Asio's sockets do.
class DrainedRecvCancellation {
 public:
  DrainedRecvCancellation(Reactor* r, Reactor::per_descriptor_data* d, int fd)
      : reactor_(r), data_(d), fd_(fd) {}
  void operator()(boost::asio::cancellation_type_t type) {
    using boost::asio::cancellation_type;
    if (!!(type &
           (cancellation_type::terminal | cancellation_type::partial | cancellation_type::total))) {
      reactor_->cancel_ops_by_key(fd_, *data_, Reactor::read_op, this);
    }
  }

 private:
  Reactor* reactor_;
  Reactor::per_descriptor_data* data_;
  int fd_;
};

template <typename Target>
struct InitiateDrainedRecv {
  Reactor* reactor;
  boost::asio::ip::tcp::socket* socket;
  Target target;

  template <typename Handler>
  void operator()(Handler&& handler) const {
    using H = std::decay_t<Handler>;
    using Executor = boost::asio::ip::tcp::socket::executor_type;
    using Op = DrainedRecvOp<Target, H, Executor>;
    auto& impl = SocketAccess::Impl(*socket);
    H h(std::forward<Handler>(handler));
    const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(h);
    auto slot = boost::asio::get_associated_cancellation_slot(h);
    typename Op::ptr p = {std::addressof(h), Op::ptr::allocate(h), nullptr};
    p.p = new (p.v) Op(impl.socket_, ReadyEventsAccess::Of(impl.reactor_data_), target, h,
                       socket->get_executor());
    if (slot.is_connected()) {
      p.p->cancellation_key_ = &slot.template emplace<DrainedRecvCancellation>(
          reactor, &impl.reactor_data_, impl.socket_);
    }
    if ((impl.state_ & adetail::socket_ops::non_blocking) == 0) {
      boost::system::error_code ec;
      socket->non_blocking(true, ec);
      if (ec) {
        p.p->ec_ = ec;
        reactor->post_immediate_completion(p.p, is_continuation);
        p.v = p.p = nullptr;
        return;
      }
    }
    reactor->start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, p.p, is_continuation,
                      true);
    p.v = p.p = nullptr;
  }
};

}  // namespace detail

// The reactor that runs `ctx`'s sockets; look it up once per event loop, not per read.
inline Reactor& ReactorOf(boost::asio::execution_context& ctx) {
  return boost::asio::use_service<Reactor>(ctx);
}

// Completes with (error_code, bytes): eof at end of stream, no_buffer_space when the target has
// no room. BufferTarget commits the bytes itself.
template <typename Target, typename Token>
auto AsyncDrainedRecv(Reactor& reactor, boost::asio::ip::tcp::socket& s, Target target,
                      Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
      detail::InitiateDrainedRecv<Target>{&reactor, &s, target}, token);
}

}  // namespace rampart::net
