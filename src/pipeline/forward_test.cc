// The forwarding driver against a scripted client side and scripted upstream streams: the order
// of the phases, each error path and its status, completion exactly once however an exchange
// ends, body inspection before the upstream gets a byte, answers replaced by response gates,
// stored responses, and retries that move to another endpoint.
#include "pipeline/forward.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <deque>
#include <functional>
#include <set>
#include <stdexcept>

#include "pipeline/gate_order.h"

namespace rampart {
namespace {

namespace asio = boost::asio;
using http::ErrorKind;
using http::ExchangeError;
using upstream::ResponseHead;
using upstream::StreamEnd;

using Log = std::vector<std::string>;

// --- Gates ---

struct ProbeGate final : public Gate {
  ProbeGate(std::string name, Log& log) : name_(std::move(name)), log_(log) {}
  std::string_view Name() const noexcept override { return name_; }
  GateNeeds Needs() const noexcept override { return needs; }
  Decision OnRequestHeaders(Exchange& ex) noexcept override {
    log_.push_back("req:" + name_);
    ex.slot().value = 7;  // read back in OnComplete: the slot lives between phases
    return on_request ? on_request(ex) : Decision::Continue();
  }
  asio::awaitable<Decision> OnRequestHeadersAsync(Exchange& ex) noexcept override {
    log_.push_back("async:" + name_);
    if (throw_async) throw std::runtime_error("gate failed");
    co_return OnRequestHeaders(ex);
  }
  Decision OnRequestBody(Exchange&, std::string_view body, bool complete) noexcept override {
    log_.push_back("body:" + name_ + ":" + std::string(body) + (complete ? "" : "..."));
    if (body_async) return Decision::Await();
    return body.find("EVIL") != std::string_view::npos
               ? Decision::Respond(403, "evil_body", "no evil here")
               : Decision::Continue();
  }
  asio::awaitable<Decision> OnRequestBodyAsync(Exchange&, std::string_view body,
                                               bool) noexcept override {
    log_.push_back("body-async:" + name_ + ":" + std::string(body));
    co_return body == "replay" ? Decision::Respond(409, "conflict", "in flight")
                               : Decision::Continue();
  }
  Decision OnResponseHeaders(Exchange& ex) noexcept override {
    log_.push_back("resp:" + name_ + ":" + std::to_string(ex.response.status) +
                   (ex.response.from_origin() ? "" : ":own"));
    return on_response ? on_response(ex) : Decision::Continue();
  }
  asio::awaitable<Decision> OnResponseHeadersAsync(Exchange& ex) noexcept override {
    log_.push_back("resp-async:" + name_);
    co_return on_response_async ? on_response_async(ex) : Decision::Continue();
  }
  void OnResponseBody(Exchange&, std::string_view piece, bool end) noexcept override {
    log_.push_back("tap:" + name_ + ":" + std::string(piece) + (end ? ":end" : ""));
  }
  void OnComplete(const Exchange& ex, const Completion& c) noexcept override {
    if (c.request_sent) log_.push_back("sent:" + name_);
    log_.push_back("done:" + name_ + ":" + std::to_string(c.status) + ":" + std::string(c.error) +
                   ":" + std::to_string(c.attempts) + ":slot" +
                   std::to_string(ex.slots[ex.gate_index].value));
  }

  std::string name_;
  Log& log_;
  GateNeeds needs;
  bool throw_async = false;
  bool body_async = false;  // OnRequestBody awaits OnRequestBodyAsync
  std::function<Decision(Exchange&)> on_request;
  std::function<Decision(Exchange&)> on_response;
  std::function<Decision(Exchange&)> on_response_async;
};

// --- The client side ---

struct ScriptedDownstream final : public Downstream {
  explicit ScriptedDownstream(Log& log) : log_(log) {}
  bool has_body() const noexcept override { return !pieces.empty() || body_error; }
  bool body_done() const noexcept override { return pieces.empty() && !body_error; }
  std::optional<std::uint64_t> declared_length() const noexcept override { return std::nullopt; }
  asio::awaitable<ExchangeError> ReadBody(std::string& out, bool& end) override {
    if (pieces.empty() && body_error) co_return body_error;
    if (!pieces.empty()) {
      log_.push_back("read:" + pieces.front());
      out.append(pieces.front());
      pieces.pop_front();
    }
    end = pieces.empty() && !body_error;
    co_return ExchangeError{};
  }
  std::string_view received_protocol() const noexcept override { return "1.1"; }
  asio::awaitable<bool> SendHead(const ResponseHead& head, std::string& body, bool end) override {
    log_.push_back("send-head:" + std::to_string(head.status) + ":" + body + (end ? ":end" : ""));
    if (takes_body) body.clear();
    co_return true;
  }
  asio::awaitable<bool> SendInterim(const ResponseHead& head) override {
    log_.push_back("interim:" + std::to_string(head.status));
    co_return !interim_fails;
  }
  std::optional<bool> SendHeadNow(const ResponseHead& head, std::string& body, bool end) override {
    if (!sends_now) return std::nullopt;
    log_.push_back("send-head-now:" + std::to_string(head.status) + ":" + body +
                   (end ? ":end" : ""));
    if (takes_body) body.clear();
    return true;
  }
  asio::awaitable<bool> SendBody(std::string& body, bool end, const http::HeaderList*) override {
    log_.push_back("send-body:" + body + (end ? ":end" : ""));
    if (takes_body) body.clear();
    co_return true;
  }
  asio::awaitable<bool> SendLocal(int status, std::string_view reason, std::string_view,
                                  std::string_view) override {
    log_.push_back("local:" + std::to_string(status) + ":" + std::string(reason));
    co_return true;
  }
  asio::awaitable<bool> SendStored(const StoredResponse& r, std::string_view) override {
    log_.push_back("stored:" + std::to_string(r.status) + ":" + r.body);
    co_return true;
  }
  void Abort() noexcept override { log_.push_back("abort"); }
  net::Deadline& deadline() noexcept override { return dl; }
  void Watch(upstream::Stream*) noexcept override {}

  Log& log_;
  std::deque<std::string> pieces;
  ExchangeError body_error;
  bool takes_body = false;     // as HTTP/2 does: the body's buffer, not a copy
  bool sends_now = false;      // as HTTP/2 does: the head without a coroutine when nothing waits
  bool interim_fails = false;  // the client is gone when an interim head is sent
  net::Deadline dl;
};

// --- The upstream side ---

struct Script {
  ExchangeError open_error;  // the attempt cannot open
  ExchangeError send_error;  // SendHead fails
  ExchangeError head_error;  // ReadHead fails
  int status = 200;
  std::vector<int> interim;  // 1xx heads before the final one
  std::vector<std::string> body = {"hello"};
  ExchangeError body_error;  // ReadBody fails after the head
  bool hang = false;         // ReadHead never returns
};

struct ScriptedStream final : public upstream::Stream {
  ScriptedStream(Log& log, Script s, asio::io_context& io) : log_(log), s_(std::move(s)), t_(io) {}
  asio::awaitable<ExchangeError> SendHead(const http::UpstreamRequest& r, std::string_view body,
                                          bool end) override {
    log_.push_back("up-head:" + std::string(r.method) + ":" + std::string(body) +
                   (end ? ":end" : ""));
    co_return s_.send_error;
  }
  asio::awaitable<ExchangeError> SendBody(std::string_view body, bool end) override {
    log_.push_back("up-body:" + std::string(body) + (end ? ":end" : ""));
    co_return ExchangeError{};
  }
  asio::awaitable<ExchangeError> ReadHead(ResponseHead& head, std::string& body,
                                          bool& end) override {
    if (s_.hang) {
      t_.expires_at(SteadyTime::max());
      co_await t_.async_wait(asio::use_awaitable);
    }
    if (s_.head_error) co_return s_.head_error;
    if (next_interim_ < s_.interim.size()) {
      head.interim = true;
      head.status = s_.interim[next_interim_++];
      head.headers = &headers_;
      head.protocol = "1.1";
      co_return ExchangeError{};
    }
    head.status = s_.status;
    head.headers = &headers_;
    head.protocol = "1.1";
    next_ = 0;
    end = s_.body.empty() && !s_.body_error;
    co_return ExchangeError{};
    (void)body;
  }
  asio::awaitable<ExchangeError> ReadBody(std::string& body, bool& end) override {
    if (next_ == s_.body.size() && s_.body_error) co_return s_.body_error;
    if (next_ < s_.body.size()) body.append(s_.body[next_++]);
    end = next_ == s_.body.size() && !s_.body_error;
    co_return ExchangeError{};
  }
  void Cancel() noexcept override {}
  void End(StreamEnd how) noexcept override {
    log_.push_back(std::string("up-end:") + (how == StreamEnd::kComplete ? "complete"
                                             : how == StreamEnd::kClose  ? "close"
                                                                         : "abort"));
  }
  bool reused() const noexcept override { return false; }
  void Consumed(std::size_t n) noexcept override { consumed += n; }

  Log& log_;
  Script s_;
  std::size_t consumed = 0;  // body bytes the driver said went to the client
  asio::steady_timer t_;
  http::HeaderList headers_;
  std::size_t next_ = 0;
  std::size_t next_interim_ = 0;
};

struct ScriptedOpener final : public upstream::Opener {
  ScriptedOpener(Log& log, asio::io_context& io) : log_(log), io_(io) {}
  asio::awaitable<upstream::Stream*> Open(const upstream::UpstreamSpec&, std::size_t endpoint,
                                          asio::steady_timer*, ExchangeError& error) override {
    opened.push_back(endpoint);
    Script s = scripts.empty() ? Script{} : scripts.front();
    if (!scripts.empty()) scripts.pop_front();
    if (s.open_error) {
      error = s.open_error;
      co_return nullptr;
    }
    stream_.emplace(log_, std::move(s), io_);
    co_return &*stream_;
  }
  Log& log_;
  asio::io_context& io_;
  std::deque<Script> scripts;
  std::vector<std::size_t> opened;
  std::optional<ScriptedStream> stream_;
};

// A policy that sends a 503 to another endpoint.
struct RetryOtherOn503 final : public upstream::Policy {
  std::string_view Name() const noexcept override { return "retry_503"; }
  upstream::Verdict After(const upstream::AttemptInfo&,
                          const upstream::AttemptOutcome& o) noexcept override {
    return o.status == 503 ? upstream::Verdict::kRetryOther : upstream::Verdict::kContinue;
  }
};

// A policy that records what attempts it was asked about.
struct RecordingPolicy final : public upstream::Policy {
  std::string_view Name() const noexcept override { return "recording"; }
  upstream::Verdict Before(const upstream::AttemptInfo& a) noexcept override {
    seen.push_back(std::string(a.method) + (a.retry_safe ? ":retry-safe" : ":not-retry-safe"));
    *a.ticket = 42;  // the seam keeps it for this attempt
    return refuse ? upstream::Verdict::kRefuse : upstream::Verdict::kContinue;
  }
  upstream::Verdict After(const upstream::AttemptInfo& a,
                          const upstream::AttemptOutcome&) noexcept override {
    seen.push_back("after:" + std::to_string(*a.ticket));
    return upstream::Verdict::kContinue;
  }
  void Abandoned(const upstream::AttemptInfo& a) noexcept override {
    seen.push_back("abandoned:" + std::to_string(*a.ticket));
  }
  bool refuse = false;
  std::vector<std::string> seen;
};

// A per-endpoint breaker stand-in: endpoints in `closed_to` are not to be tried now.
struct SkipEndpoints final : public upstream::Policy {
  std::string_view Name() const noexcept override { return "skip"; }
  http::ErrorKind RefusedAs() const noexcept override { return http::ErrorKind::kCircuitOpen; }
  upstream::Verdict Before(const upstream::AttemptInfo& a) noexcept override {
    asked.push_back(a.endpoint);
    return closed_to.count(a.endpoint) ? upstream::Verdict::kRetryOther
                                       : upstream::Verdict::kContinue;
  }
  std::set<std::size_t> closed_to;
  std::vector<std::size_t> asked;
};

// --- The harness ---

struct Harness {
  Harness()
      : loop(io, 16 * 1024, 16), pools(io), state(loop.buffers()), down(log), opener(log, io) {
    spec.name = "u";
    spec.stats = metrics.Upstream("u");
    spec.response_timeout = std::chrono::seconds(1);
    for (int i = 0; i < 2; ++i) {
      upstream::EndpointSpec ep;
      ep.key = "127.0.0.1:" + std::to_string(1000 + i);
      spec.endpoints.push_back(ep);
    }
    route_cfg.name = "r";
    auto route = std::make_unique<CompiledRoute>();
    route->config = &route_cfg;
    route->name = "r";
    route->upstream = &spec;
    route->stats = metrics.Route("r");
    router.Add(std::move(route));
    site.router = &router;
    site.via = "rampart";
    site.request_id_header = "x-request-id";
    site.unrouted_stats = metrics.Route("(unrouted)");
    Exchange& ex = state.ex;
    ex.method = "POST";
    ex.target = ex.path = "/p";
    ex.authority = ex.host = "h";
    ex.request_id = "rid";
    ex.request_headers = &state.request_headers;
    ex.start = loop.now();
  }
  CompiledRoute& route() { return const_cast<CompiledRoute&>(*router.routes()[0]); }
  ProbeGate& AddGate(std::string name) {
    auto g = std::make_unique<ProbeGate>(std::move(name), log);
    ProbeGate& ref = *g;
    route().gates.push_back(std::move(g));
    return ref;
  }
  // Runs the exchange to its end; rethrows what the driver threw.
  void Run() {
    route().CollectNeeds();
    ForwardEnv env{loop, 0, site, metrics.worker(0), nullptr, pools, {}, "192.0.2.1", &opener};
    std::exception_ptr failure;
    asio::co_spawn(io, Forward(down, state, env), [&](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
  }
  // The entries of `log` that start with `prefix`.
  Log Only(std::string_view prefix) const {
    Log out;
    for (const auto& l : log) {
      if (l.starts_with(prefix)) out.push_back(l);
    }
    return out;
  }

  asio::io_context io;
  net::LoopContext loop;
  observe::Metrics metrics{1};
  upstream::WorkerPools pools;
  ExchangeState state;
  Log log;
  ScriptedDownstream down;
  ScriptedOpener opener;
  upstream::UpstreamSpec spec;
  config::Route route_cfg;
  Router router;
  Site site;
};

TEST(Forward, PhasesRunInOrder) {
  Harness h;
  ProbeGate& a = h.AddGate("a");
  ProbeGate& b = h.AddGate("b");
  b.needs.async_request = true;
  b.needs.response_body = true;
  h.down.pieces = {"x", "y"};
  h.opener.scripts = {Script{.body = {"o1", "o2"}}};
  h.Run();
  (void)a;
  EXPECT_EQ(h.log, (Log{"req:a",
                        "async:b",
                        "req:b",
                        "up-head:POST:",
                        "read:x",
                        "up-body:x",
                        "read:y",
                        "up-body:y:end",
                        "resp:b:200",
                        "resp:a:200",
                        "tap:b:",
                        "send-head:200:",
                        "tap:b:o1",
                        "send-body:o1",
                        "tap:b:o2:end",
                        "send-body:o2:end",
                        "up-end:complete",
                        "sent:b",
                        "done:b:200::1:slot7",
                        "sent:a",
                        "done:a:200::1:slot7"}));
}

TEST(Forward, RequestGateRefusalNeverOpensAnAttempt) {
  Harness h;
  h.AddGate("a");
  ProbeGate& b = h.AddGate("b");
  h.AddGate("c");
  b.on_request = [](Exchange&) { return Decision::Respond(429, "rate_limited", "slow down"); };
  h.Run();
  EXPECT_TRUE(h.opener.opened.empty());
  // Only the gates that ran see the answer and the end; c never ran.
  EXPECT_EQ(h.log,
            (Log{"req:a", "req:b", "resp:b:429:own", "resp:a:429:own", "local:429:rate_limited",
                 "done:b:429:rate_limited:0:slot7", "done:a:429:rate_limited:0:slot7"}));
  ASSERT_EQ(h.state.ex.notes.size(), 1u);
  EXPECT_EQ(h.state.ex.notes[0].gate, "b");
}

TEST(Forward, BodyInspectingGateRefusesBeforeTheUpstreamGetsAByte) {
  Harness h;
  ProbeGate& g = h.AddGate("waf");
  g.needs.request_body = 64;
  h.down.pieces = {"hello ", "EVIL", " world"};
  h.Run();
  EXPECT_TRUE(h.opener.opened.empty());
  EXPECT_TRUE(h.Only("up-").empty());
  EXPECT_EQ(h.Only("body:"), (Log{"body:waf:hello EVIL world"}));
  EXPECT_EQ(h.Only("local:"), (Log{"local:403:evil_body"}));
}

TEST(Forward, HeldBodyGoesUpstreamWithTheHeadAndItsLength) {
  Harness h;
  ProbeGate& g = h.AddGate("waf");
  g.needs.request_body = 64;
  h.down.pieces = {"hello ", "world"};
  h.Run();
  EXPECT_EQ(h.Only("body:"), (Log{"body:waf:hello world"}));
  EXPECT_EQ(h.Only("up-head"), (Log{"up-head:POST:hello world:end"}));
  EXPECT_TRUE(h.Only("up-body").empty());
}

TEST(Forward, BodyGateMayAwaitAndSeesARequestWithoutABody) {
  {
    Harness h;
    ProbeGate& g = h.AddGate("idem");
    g.needs.request_body = 64;
    g.body_async = true;
    h.down.pieces = {"re", "play"};
    h.Run();
    EXPECT_EQ(h.Only("body"), (Log{"body:idem:replay", "body-async:idem:replay"}));
    EXPECT_TRUE(h.opener.opened.empty());
    EXPECT_EQ(h.Only("local:"), (Log{"local:409:conflict"}));
  }
  {
    Harness h;
    ProbeGate& g = h.AddGate("idem");
    g.needs.request_body = 64;
    g.body_async = true;
    h.Run();  // no body at all: the body phase still runs, with an empty complete body
    EXPECT_EQ(h.Only("body"), (Log{"body:idem:", "body-async:idem:"}));
    EXPECT_EQ(h.Only("up-head"), (Log{"up-head:POST::end"}));
  }
}

TEST(Forward, BodyOverTheHoldFollowsTheGatesChoice) {
  {
    Harness h;
    ProbeGate& g = h.AddGate("strict");
    g.needs.request_body = 4;
    h.down.pieces = {"abc", "defgh", "ijk"};
    h.Run();
    EXPECT_TRUE(h.opener.opened.empty());
    EXPECT_EQ(h.Only("local:"), (Log{"local:413:body_too_large"}));
  }
  {
    Harness h;
    ProbeGate& g = h.AddGate("prefix");
    g.needs.request_body = 4;
    g.needs.overflow = GateNeeds::Overflow::kInspectPrefix;
    h.down.pieces = {"abc", "defgh", "ijk"};
    h.Run();
    EXPECT_EQ(h.Only("body:"), (Log{"body:prefix:abcd..."}));
    // What was held goes first, the rest streams after it.
    EXPECT_EQ(h.Only("up-"), (Log{"up-head:POST:abcdefgh", "up-body:ijk:end", "up-end:complete"}));
  }
}

TEST(Forward, ResponseGateReplacesRampartsOwn502) {
  Harness h;
  ProbeGate& g = h.AddGate("fallback");
  auto stored = std::make_shared<StoredResponse>(StoredResponse{200, {}, "[]"});
  g.on_response = [stored](Exchange& ex) {
    return ex.response.status == 502 && !ex.response.from_origin()
               ? Decision::Serve(stored, "fallback")
               : Decision::Continue();
  };
  ExchangeError refused =
      ExchangeError::Upstream(ErrorKind::kConnectRefused, http::Step::kConnect, false, true);
  h.opener.scripts = {Script{.open_error = refused}};
  h.Run();
  EXPECT_EQ(h.Only("resp:"), (Log{"resp:fallback:502:own", "resp:fallback:200:own"}));
  EXPECT_EQ(h.Only("stored:"), (Log{"stored:200:[]"}));
  EXPECT_TRUE(h.Only("local:").empty());
  EXPECT_EQ(h.Only("done:"), (Log{"done:fallback:200::1:slot7"}));
}

TEST(Forward, ResponseGateMayAwaitForOneResponse) {
  Harness h;
  h.AddGate("a");
  ProbeGate& b = h.AddGate("b");
  ProbeGate& c = h.AddGate("c");
  b.on_response = [](Exchange&) { return Decision::Await(); };
  b.on_response_async = [](Exchange& ex) {
    ex.response_headers += "Set-Cookie: s=1\r\n";
    return Decision::Continue();
  };
  c.on_response = b.on_response;
  c.on_response_async = [](Exchange&) { return Decision::Await(); };  // may not ask twice
  h.opener.scripts = {Script{.body = {"o"}}};
  h.Run();
  // c's second request to wait replaces the answer with a 500, which passes the gates again
  // (b awaits once more for it) without being replaced twice.
  EXPECT_EQ(h.Only("resp"), (Log{"resp:c:200", "resp-async:c", "resp:c:500:own", "resp-async:c",
                                 "resp:b:500:own", "resp-async:b", "resp:a:500:own"}));
  EXPECT_EQ(h.Only("done:"),
            (Log{"done:c:500:internal_error:1:slot7", "done:b:500:internal_error:1:slot7",
                 "done:a:500:internal_error:1:slot7"}));
}

TEST(Forward, RequestGateServesAStoredResponse) {
  Harness h;
  ProbeGate& g = h.AddGate("cache");
  g.on_request = [](Exchange&) {
    return Decision::Serve(std::make_shared<StoredResponse>(StoredResponse{203, {}, "cached"}),
                           "cache_hit");
  };
  h.Run();
  EXPECT_TRUE(h.opener.opened.empty());
  EXPECT_EQ(h.Only("stored:"), (Log{"stored:203:cached"}));
  EXPECT_EQ(h.Only("done:"), (Log{"done:cache:203::0:slot7"}));
}

TEST(Forward, RetryMovesToAnotherEndpoint) {
  Harness h;
  h.spec.policies.push_back(std::make_shared<RetryOtherOn503>());
  h.AddGate("g");
  h.opener.scripts = {Script{.status = 503}, Script{.status = 200}};
  h.Run();
  ASSERT_EQ(h.opener.opened.size(), 2u);
  EXPECT_NE(h.opener.opened[0], h.opener.opened[1]);
  EXPECT_EQ(h.Only("up-end"), (Log{"up-end:close", "up-end:complete"}));
  EXPECT_EQ(h.Only("send-head"), (Log{"send-head:200:"}));
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:200::2:slot7"}));
}

TEST(Forward, APolicyCanSendAnAttemptToAnotherEndpointBeforeItStarts) {
  for (std::size_t closed : {0u, 1u}) {
    Harness h;
    auto p = std::make_shared<SkipEndpoints>();
    p->closed_to = {closed};
    h.spec.policies.push_back(p);
    h.AddGate("g");
    h.opener.scripts = {Script{.status = 200}};
    h.Run();
    ASSERT_EQ(h.opener.opened.size(), 1u);
    EXPECT_EQ(h.opener.opened[0], 1 - closed);  // the other endpoint, whichever was picked first
    EXPECT_EQ(h.Only("done:"), (Log{"done:g:200::1:slot7"}));  // one attempt made
  }
}

TEST(Forward, WhenEveryEndpointIsSkippedThePolicysRefusalAnswers) {
  Harness h;
  auto p = std::make_shared<SkipEndpoints>();
  p->closed_to = {0, 1};
  h.spec.policies.push_back(p);
  h.AddGate("g");
  h.Run();
  EXPECT_TRUE(h.opener.opened.empty());
  EXPECT_EQ(p->asked.size(), 2u);
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:503:upstream_circuit_open:0:slot7"}));
}

TEST(Forward, PoliciesSeeWhetherARetryIsSafe) {
  {
    Harness h;  // a POST is not, by itself
    auto p = std::make_shared<RecordingPolicy>();
    h.spec.policies.push_back(p);
    h.Run();
    EXPECT_EQ(p->seen, (std::vector<std::string>{"POST:not-retry-safe", "after:42"}));
  }
  {
    Harness h;  // a gate made it so (an idempotency key)
    auto p = std::make_shared<RecordingPolicy>();
    h.spec.policies.push_back(p);
    ProbeGate& g = h.AddGate("idem");
    g.on_request = [](Exchange& ex) {
      ex.retry_safe = true;
      return Decision::Continue();
    };
    h.Run();
    EXPECT_EQ(p->seen, (std::vector<std::string>{"POST:retry-safe", "after:42"}));
  }
}

TEST(Forward, APolicyLearnsOfAttemptsThatEndedWithoutAnOutcome) {
  {
    Harness h;  // a later policy refused the attempt this one admitted
    auto first = std::make_shared<RecordingPolicy>();
    auto second = std::make_shared<RecordingPolicy>();
    second->refuse = true;
    h.spec.policies = {first, second};
    h.Run();
    EXPECT_EQ(first->seen, (std::vector<std::string>{"POST:not-retry-safe", "abandoned:42"}));
    EXPECT_EQ(h.Only("local:"), (Log{"local:503:upstream_unavailable"}));
  }
  {
    Harness h;  // the client's body failed after the attempt began: no head, no failure of its
    auto p = std::make_shared<RecordingPolicy>();
    h.spec.policies.push_back(p);
    h.down.pieces = {"x"};
    h.down.body_error =
        ExchangeError::Downstream(ErrorKind::kClientClosed, http::Step::kReadRequestBody);
    h.Run();
    EXPECT_EQ(p->seen, (std::vector<std::string>{"POST:not-retry-safe", "abandoned:42"}));
  }
}

TEST(Forward, CompletionSaysWhetherTheOriginMayHaveTheRequest) {
  {
    Harness h;
    h.AddGate("g");
    h.Run();
    EXPECT_EQ(h.Only("sent:"), (Log{"sent:g"}));
  }
  {
    Harness h;  // every attempt failed to connect: the origin never saw it
    h.AddGate("g");
    h.opener.scripts = {Script{.open_error = ExchangeError::Upstream(
                                   ErrorKind::kConnectRefused, http::Step::kConnect, false, true)}};
    h.Run();
    EXPECT_TRUE(h.Only("sent:").empty());
    EXPECT_EQ(h.Only("local:"), (Log{"local:502:upstream_unavailable"}));
  }
}

TEST(Forward, StaleConnectionIsRetriedOnceOnTheSameEndpoint) {
  Harness h;
  ExchangeError stale =
      ExchangeError::Upstream(ErrorKind::kStale, http::Step::kSendHead, false, true);
  h.opener.scripts = {Script{.send_error = stale}, Script{.send_error = stale}};
  h.Run();
  ASSERT_EQ(h.opener.opened.size(), 2u);
  EXPECT_EQ(h.opener.opened[0], h.opener.opened[1]);
  // Once only: the second stale connection fails the exchange.
  EXPECT_EQ(h.Only("local:"), (Log{"local:502:upstream_unavailable"}));
}

TEST(Forward, ErrorPathsAnswerWithTheirStatus) {
  struct Case {
    Script script;
    std::string expected;
  };
  const Case cases[] = {
      {Script{.open_error = ExchangeError::Upstream(ErrorKind::kConnectTimeout,
                                                    http::Step::kConnect, false, true)},
       "local:504:upstream_timeout"},
      {Script{.head_error =
                  ExchangeError::Upstream(ErrorKind::kTimeout, http::Step::kReadHead, true, false)},
       "local:504:upstream_timeout"},
      {Script{.head_error = ExchangeError::Upstream(ErrorKind::kBadResponse, http::Step::kReadHead,
                                                    true, false)},
       "local:502:upstream_bad_response"},
      {Script{.head_error =
                  ExchangeError::Upstream(ErrorKind::kReset, http::Step::kReadHead, true, false)},
       "local:502:upstream_unavailable"},
  };
  for (const Case& c : cases) {
    Harness h;
    h.AddGate("g");
    h.opener.scripts = {c.script};
    h.Run();
    EXPECT_EQ(h.Only("local:"), (Log{c.expected}));
    EXPECT_EQ(h.Only("done:").size(), 1u);
  }
  // No route: 404, and no gate runs.
  Harness h;
  h.state.ex.host = "elsewhere";
  h.route_cfg.match.hosts = {"only.test"};
  h.route().exact_hosts = {"only.test"};
  h.Run();
  EXPECT_EQ(h.log, (Log{"local:404:no_route"}));
}

TEST(Forward, CompletesOnceWhenTheUpstreamFailsMidBody) {
  Harness h;
  h.AddGate("g");
  h.opener.scripts = {Script{.body = {"part"},
                             .body_error = ExchangeError::Upstream(
                                 ErrorKind::kReset, http::Step::kReadBody, true, false)}};
  h.Run();
  // The head went out: the response is cut (abort), never completed with a second answer.
  EXPECT_EQ(h.Only("send-"), (Log{"send-head:200:", "send-body:part"}));
  EXPECT_EQ(h.Only("abort"), (Log{"abort"}));
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:200:upstream_aborted:1:slot7"}));
}

TEST(Forward, CompletesOnceWhenTheClientResets) {
  Harness h;
  h.AddGate("g");
  h.down.pieces = {"a"};
  h.down.body_error =
      ExchangeError::Downstream(ErrorKind::kClientReset, http::Step::kReadRequestBody);
  h.Run();
  EXPECT_EQ(h.Only("up-end"), (Log{"up-end:abort"}));  // the origin sees an aborted request
  EXPECT_TRUE(h.Only("local:").empty());
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:0:client_reset:1:slot7"}));
}

TEST(Forward, CompletesOnceWhenAGateThrows) {
  Harness h;
  ProbeGate& g = h.AddGate("g");
  h.AddGate("h");
  g.needs.async_request = true;
  g.throw_async = true;
  EXPECT_THROW(h.Run(), std::runtime_error);
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:0:internal_error:0:slot0"}));
  EXPECT_EQ(h.Only("abort"), (Log{"abort"}));
}

TEST(Forward, CompletesOnceWhenCancelled) {
  Harness h;
  h.AddGate("g");
  h.opener.scripts = {Script{.hang = true}};
  h.route().CollectNeeds();
  ForwardEnv env{h.loop, 0, h.site, h.metrics.worker(0), nullptr, h.pools, {}, "", &h.opener};
  asio::cancellation_signal cancel;
  std::exception_ptr failure;
  asio::co_spawn(
      h.io, Forward(h.down, h.state, env),
      asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) { failure = e; }));
  h.io.run_for(std::chrono::milliseconds(20));  // waits for a head that never comes
  EXPECT_TRUE(h.Only("done:").empty());
  cancel.emit(asio::cancellation_type::terminal);  // a worker shutting down, a client gone
  h.io.restart();
  h.io.run();
  EXPECT_TRUE(failure);
  EXPECT_EQ(h.Only("done:"), (Log{"done:g:0:internal_error:1:slot7"}));
}

TEST(Forward, BodyBytesTheDownstreamTakesAreStillGivenBackToTheUpstream) {
  // An HTTP/2 client side takes the response buffer instead of copying it: the upstream's flow
  // control still hears of every byte.
  Harness h;
  h.down.takes_body = true;
  h.opener.scripts = {Script{.body = {"o1", "o22"}}};
  h.Run();
  EXPECT_EQ(h.Only("send-"), (Log{"send-head:200:", "send-body:o1", "send-body:o22:end"}));
  EXPECT_EQ(h.opener.stream_->consumed, 5u);
}

TEST(Forward, AHeadTheDownstreamSendsAtOnceIsNotSentAgain) {
  Harness h;
  h.down.sends_now = true;
  h.down.takes_body = true;
  h.opener.scripts = {Script{.body = {"o1"}}};
  h.Run();
  EXPECT_EQ(h.Only("send-"), (Log{"send-head-now:200:", "send-body:o1:end"}));
  EXPECT_EQ(h.opener.stream_->consumed, 2u);
}

TEST(Forward, InterimHeadsGoToTheClientBeforeTheFinalOne) {
  Harness h;
  ProbeGate& a = h.AddGate("a");
  h.opener.scripts = {Script{.interim = {103, 102}, .body = {"o1"}}};
  h.Run();
  (void)a;
  // Response gates see only the final head; the client gets every head in order.
  EXPECT_EQ(h.Only("interim:"), (Log{"interim:103", "interim:102"}));
  EXPECT_EQ(h.Only("resp:"), (Log{"resp:a:200"}));
  EXPECT_EQ(h.Only("send-"), (Log{"send-head:200:", "send-body:o1:end"}));
  EXPECT_EQ(h.opener.opened.size(), 1u);  // not a reason to retry
}

TEST(Forward, AClientGoneAtAnInterimHeadEndsTheExchange) {
  Harness h;
  h.down.interim_fails = true;
  h.opener.scripts = {Script{.interim = {103}}};
  h.Run();
  EXPECT_EQ(h.Only("interim:"), (Log{"interim:103"}));
  EXPECT_EQ(h.Only("send-"), (Log{}));
  EXPECT_EQ(h.Only("up-end:"), (Log{"up-end:close"}));
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
