// Reads and writes on one side of a proxied exchange: a TCP socket, through TLS when `tls` is set.
// Each refreshes the worker's clock after it waited, so deadlines measure from real time.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <span>

namespace rampart::server {

class Worker;
using TlsStream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>;

// Plain sockets go straight to Asio's async_read_some (it tries the syscall first and queues
// without epoll_ctl when it would block); writes try write_some first and queue the rest with
// async_write_some only when the socket buffer is full.
boost::asio::awaitable<std::size_t> ReadFrom(Worker& w, boost::asio::ip::tcp::socket& s,
                                             TlsStream* tls, std::span<char> into,
                                             boost::system::error_code& ec);
boost::asio::awaitable<void> WriteTo(Worker& w, boost::asio::ip::tcp::socket& s, TlsStream* tls,
                                     std::span<boost::asio::const_buffer> bufs,
                                     boost::system::error_code& ec);

}  // namespace rampart::server
