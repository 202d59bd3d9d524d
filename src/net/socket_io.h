// Reads and writes on one side of a proxied exchange: a TCP socket, through TLS when `tls` is set.
// Each refreshes the loop's clock after it waited, so deadlines measure from real time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <span>
#include <tuple>

#include "net/io_buffer.h"
#include "net/loop_context.h"
#include "net/tls_stream.h"

namespace rampart::net {

// What every connected socket gets, accepted or opened upstream: non-blocking mode (writes try
// write_some first), TCP_NODELAY, and the queued-bytes report the drained reads use.
void SetUpConnection(boost::asio::ip::tcp::socket& s);

// Plain sockets read through net::AsyncDrainedRecv (no recv that fails with EAGAIN when the
// last read drained the socket); writes try write_some first and queue the rest with
// async_write_some only when the socket buffer is full.
boost::asio::awaitable<std::size_t> ReadFrom(LoopContext& w, boost::asio::ip::tcp::socket& s,
                                             TlsStream* tls, std::span<char> into,
                                             boost::system::error_code& ec);
// The same, appended to `buf` (at least `min` bytes of room, at most `max_total` buffered; else
// asio::error::no_buffer_space), as (error, bytes). On a plain socket an empty `buf` holds no
// block while it waits: the block comes from the worker's pool once the socket is readable, so
// the bytes land in memory another read just gave back (in cache) rather than in a block held
// since the request went out. Not a coroutine on a plain socket (the receive itself is awaited,
// one frame fewer on a response's way): the caller refreshes the loop's clock after the wait.
using ReadResult = std::tuple<boost::system::error_code, std::size_t>;
boost::asio::awaitable<ReadResult> ReadInto(Reactor& reactor, boost::asio::ip::tcp::socket& s,
                                            TlsStream* tls, IoBuffer& buf, std::size_t min,
                                            std::size_t max_total);
// Writes what a plain socket takes now, without waiting: true when everything is written (or the
// write failed: `ec`); false when the rest must wait (TLS always does), with `bufs` advanced past
// what went out, for WriteTo to finish. Lets the common case skip a coroutine frame.
bool WriteNow(boost::asio::ip::tcp::socket& s, TlsStream* tls,
              std::span<boost::asio::const_buffer> bufs, boost::system::error_code& ec);
boost::asio::awaitable<void> WriteTo(LoopContext& w, boost::asio::ip::tcp::socket& s,
                                     TlsStream* tls, std::span<boost::asio::const_buffer> bufs,
                                     boost::system::error_code& ec);

}  // namespace rampart::net
