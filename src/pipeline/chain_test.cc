#include "pipeline/chain.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include "pipeline/gate_order.h"

namespace rampart {
namespace {

class RecordingGate final : public Gate {
 public:
  RecordingGate(std::string name, std::vector<std::string>& log, Decision d, bool async = false)
      : name_(std::move(name)), log_(log), decision_(std::move(d)), async_(async) {}
  std::string_view Name() const noexcept override { return name_; }
  Decision OnRequestHeaders(Exchange&) noexcept override {
    log_.push_back("req:" + name_);
    return decision_;
  }
  bool is_async() const noexcept override { return async_; }
  boost::asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override {
    log_.push_back("async:" + name_);
    co_return OnRequestHeaders(ex);
  }
  void OnResponseHeaders(Exchange&) noexcept override { log_.push_back("resp:" + name_); }
  void OnComplete(const Exchange&) noexcept override { log_.push_back("done:" + name_); }

 private:
  std::string name_;
  std::vector<std::string>& log_;
  Decision decision_;
  bool async_;
};

Decision RunChain(const CompiledRoute& route, Exchange& ex, std::size_t& ran) {
  boost::asio::io_context io;
  Decision out;
  boost::asio::co_spawn(io, RunRequestGates(route, ex, ran),
                        [&](std::exception_ptr, Decision d) { out = std::move(d); });
  io.run();
  return out;
}

TEST(Chain, RunsInOrderAndStopsAtFirstRefusal) {
  std::vector<std::string> log;
  CompiledRoute route;
  route.gates.push_back(std::make_unique<RecordingGate>("a", log, Decision::Continue()));
  route.gates.push_back(std::make_unique<RecordingGate>("b", log, Decision::Continue(), true));
  route.gates.push_back(std::make_unique<RecordingGate>(
      "c", log, Decision::Respond(429, "rate_limited", "slow down", "Retry-After: 1\r\n")));
  route.gates.push_back(std::make_unique<RecordingGate>("d", log, Decision::Continue()));
  Exchange ex;
  std::size_t ran = 0;
  Decision d = RunChain(route, ex, ran);
  EXPECT_EQ(d.kind, Decision::Kind::kRespond);
  EXPECT_EQ(d.status, 429);
  EXPECT_EQ(ran, 3u);
  ASSERT_EQ(ex.notes.size(), 1u);
  EXPECT_EQ(ex.notes[0].gate, "c");
  EXPECT_EQ(ex.notes[0].outcome, "rate_limited");
  RunResponseGates(route, ex, ran);
  RunCompleteGates(route, ex, ran);
  EXPECT_EQ(log, (std::vector<std::string>{"req:a", "async:b", "req:b", "req:c", "resp:c", "resp:b",
                                           "resp:a", "done:c", "done:b", "done:a"}));
}

TEST(Chain, AllContinue) {
  std::vector<std::string> log;
  CompiledRoute route;
  route.gates.push_back(std::make_unique<RecordingGate>("a", log, Decision::Continue()));
  Exchange ex;
  std::size_t ran = 0;
  EXPECT_TRUE(RunChain(route, ex, ran).is_continue());
  EXPECT_EQ(ran, 1u);
  EXPECT_TRUE(ex.notes.empty());
}

TEST(GateOrder, IdentityBeforeStoredResponses) {
  EXPECT_LT(GateRank("client_ip"), GateRank("rate_limit"));
  EXPECT_LT(GateRank("waf"), GateRank("jwt"));
  EXPECT_LT(GateRank("jwt"), GateRank("authz"));
  EXPECT_LT(GateRank("authz"), GateRank("cache"));
  EXPECT_LT(GateRank("cache"), GateRank("idempotency"));
  EXPECT_EQ(GateRank("unknown"), static_cast<int>(kDefaultGateOrder.size()));
}

}  // namespace
}  // namespace rampart
