#include "server/upstream_response.h"

#include <boost/asio/error.hpp>

#include "server/socket_io.h"
#include "server/worker.h"

namespace rampart::server {

namespace {
constexpr std::size_t kMaxResponseHead = 64 * 1024;
constexpr std::size_t kReadChunk = 16 * 1024;
}  // namespace

boost::asio::awaitable<HeadOutcome> ReadUpstreamHead(Worker& worker,
                                                     upstream::UpstreamConnection& conn,
                                                     RequestState& st,
                                                     std::optional<http::h1::ResponseParser>& rp,
                                                     std::size_t& consumed, HeadOptions opts) {
  const http::h1::ParserLimits limits{0, kMaxResponseHead, 256, 0};
  consumed = 0;
  boost::system::error_code ec;
  for (;;) {
    rp.emplace(limits, st.response_headers, st.resp_body_out);
    rp->set_rechunk(opts.rechunk);
    if (opts.head_request) rp->set_no_body();
    while (!rp->header_done()) {
      if (st.up_in.size() > consumed) {
        consumed += rp->Feed(st.up_in.data() + consumed, st.up_in.size() - consumed);
      }
      if (rp->failure() != http::ParseFailure::kNone) co_return HeadOutcome::kInvalid;
      if (rp->header_done()) break;
      auto space = st.up_in.Prepare(4096, kMaxResponseHead + kReadChunk);
      if (space.empty()) co_return HeadOutcome::kInvalid;
      std::size_t n = co_await ReadFrom(worker, conn.socket, conn.tls.get(), space, ec);
      if (ec) co_return HeadOutcome::kClosed;
      st.up_in.Commit(n);
    }
    const int status = rp->status();
    if (status == 101)
      co_return opts.expect_switch ? HeadOutcome::kSwitching : HeadOutcome::kUnexpectedSwitch;
    if (status >= 200) co_return HeadOutcome::kOk;
    // An interim response (100, 103): dropped; the final one follows.
    st.up_in.Consume(consumed);
    consumed = 0;
    st.resp_body_out.clear();
  }
}

boost::asio::awaitable<BodyStep> ReadUpstreamBody(Worker& worker,
                                                  upstream::UpstreamConnection& conn,
                                                  RequestState& st, http::h1::ResponseParser& rp,
                                                  const Deadline& dl,
                                                  observe::UpstreamError& error) {
  boost::system::error_code ec;
  // Room for a trailer section, which the parser holds whole before consuming it.
  auto space = st.up_in.Prepare(kReadChunk, kMaxResponseHead + kReadChunk);
  if (space.empty()) {
    error = observe::UpstreamError::kBadResponse;
    co_return BodyStep::kFailed;
  }
  std::size_t n = co_await ReadFrom(worker, conn.socket, conn.tls.get(), space, ec);
  if (ec == boost::asio::error::eof) {
    rp.FeedEof();
    if (rp.done()) co_return BodyStep::kDoneAtClose;
    error = observe::UpstreamError::kReset;
    co_return BodyStep::kFailed;
  }
  if (ec) {
    error = dl.fired == TimeoutKind::kUpstream ? observe::UpstreamError::kTimeout
                                               : observe::UpstreamError::kReset;
    co_return BodyStep::kFailed;
  }
  st.up_in.Commit(n);
  st.up_in.Consume(rp.Feed(st.up_in.data(), st.up_in.size()));
  if (rp.failure() != http::ParseFailure::kNone) {
    error = observe::UpstreamError::kBadResponse;
    co_return BodyStep::kFailed;
  }
  co_return BodyStep::kMore;
}

}  // namespace rampart::server
