// The idempotency gate over the in-process store under a scripted clock: the state machine
// (first, replay, conflict, mismatch, lease expiry and fencing, release), its record format and
// the encryption of stored answers.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <fstream>

#include "gates/idempotency/idempotency_gate.h"
#include "gates/idempotency/record.h"
#include "gates/idempotency/sealer.h"
#include "state/kv/local_kv.h"

namespace rampart::idempotency {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kFp(64, 'a');

TEST(IdempotencyKey, QuotedAndBareKeys) {
  std::string k;
  EXPECT_TRUE(ParseKey("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", 255, k));
  EXPECT_EQ(k, "8e03978e-40d5-43e8-bc93-6894a57f9324");
  EXPECT_TRUE(ParseKey("\"a \\\"b\\\\\"", 255, k));  // sf-string escapes
  EXPECT_EQ(k, "a \"b\\");
  EXPECT_TRUE(ParseKey("pay_123:abc", 255, k));
  EXPECT_EQ(k, "pay_123:abc");
  for (std::string_view bad : {"", "\"\"", "\"open", "a b", "a,b", "a;b", "\"\\x\"", "k\x01",
                               "\"caf\xc3\xa9\"", "\"a\"b\""}) {
    EXPECT_FALSE(ParseKey(bad, 255, k)) << bad;
  }
  EXPECT_TRUE(ParseKey(std::string(255, 'k'), 255, k));
  EXPECT_FALSE(ParseKey(std::string(256, 'k'), 255, k));
}

TEST(IdempotencyRecord, EachStateReadsBackAndStrangersAreRefused) {
  Record r;
  ASSERT_TRUE(DecodeRecord(EncodeInFlight(42, kFp, "0123456789abcdef"), r));
  EXPECT_EQ(r.state, State::kInFlight);
  EXPECT_EQ(r.token, 42u);
  EXPECT_EQ(r.fingerprint, kFp);
  EXPECT_EQ(r.nonce, "0123456789abcdef");
  ASSERT_TRUE(DecodeRecord(EncodeAnswered(43, kFp, "0123456789abcdef", 201, 1764950000123), r));
  EXPECT_EQ(r.state, State::kAnswered);
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.since_ms, 1764950000123);
  ASSERT_TRUE(DecodeRecord(EncodeNoReplay(7, kFp, 201), r));
  EXPECT_EQ(r.state, State::kNoReplay);
  EXPECT_EQ(r.status, 201);
  const std::string done = DoneHead(9, kFp, "k-2026") + std::string("\0\n\xff", 3);
  ASSERT_TRUE(DecodeRecord(done, r));  // r.sealed points into `done`
  EXPECT_EQ(r.state, State::kDone);
  EXPECT_EQ(r.key_id, "k-2026");
  EXPECT_EQ(r.sealed, std::string_view("\0\n\xff", 3));
  for (const std::string& bad : std::vector<std::string>{
           "", "RI1 F", "RI1 F 1 " + kFp, "RI1 F 1 " + kFp + " 0123456789ABCDEF",
           "RI1 P 1 " + kFp + " 0123456789abcdef 201", "RI1 P 1 " + kFp + " 0123456789abcdef 20 5",
           "RI1 P 7 " + kFp + " 0123456789abcdef 201 1764 ",
           "RI1 F 1  " + kFp + " 0123456789abcdef", "RI1 N 1 " + kFp + " 201 ",
           "RI1 P 7 " + kFp + " 0123456789abcdef 201 -5", "RI1 N +1 " + kFp + " 201",
           "RI1 F 01 " + kFp, "RI1 F 1 abc", "RI1 X 1 " + kFp, "RI1 F 1 " + kFp + " x",
           "RI1 N 1 " + kFp + " 42", "RI1 D 1 " + kFp + " k", "RI1 D 1 " + kFp + " k/1\n",
           "RI2 F 1 " + kFp}) {
    EXPECT_FALSE(DecodeRecord(bad, r)) << bad;
  }
}

TEST(IdempotencyRecord, ResponsesReadBackByteForByte) {
  const std::string body("{\"id\":1}\r\n\r\n\0tail", 16);
  const std::string bytes =
      EncodeResponse(201, {{"Content-Type", "application/json"}, {"Location", "/p/1"}}, body);
  Response r;
  ASSERT_TRUE(DecodeResponse(bytes, r));
  EXPECT_EQ(r.status, 201);
  ASSERT_EQ(r.headers.size(), 2u);
  EXPECT_EQ(r.headers[1].second, "/p/1");
  EXPECT_EQ(r.body, body);
  EXPECT_FALSE(DecodeResponse("2000\r\n\r\n", r));
  EXPECT_FALSE(DecodeResponse("200\r\nNo-Colon\r\n\r\n", r));
}

SealKey Key(std::string id, unsigned char fill) {
  SealKey k;
  k.id = std::move(id);
  k.bytes.fill(fill);
  return k;
}

TEST(IdempotencySealer, AesGcmBindsTheRecordAndTheKeyId) {
  Sealer s({Key("new", 1), Key("old", 2)});
  std::string sealed;
  ASSERT_TRUE(s.Seal("card 4242 charged", "k:1\nhead", sealed));
  EXPECT_EQ(sealed.find("4242"), std::string::npos);  // not the plaintext
  EXPECT_EQ(sealed.size(), 12 + 17 + 16u);
  std::string plain;
  ASSERT_TRUE(s.Open("new", sealed, "k:1\nhead", plain));
  EXPECT_EQ(plain, "card 4242 charged");
  EXPECT_FALSE(s.Open("new", sealed, "k:2\nhead", plain));   // moved to another record
  EXPECT_FALSE(s.Open("old", sealed, "k:1\nhead", plain));   // another key
  EXPECT_FALSE(s.Open("gone", sealed, "k:1\nhead", plain));  // a key no longer listed
  EXPECT_FALSE(s.Open("-", sealed, "k:1\nhead", plain));     // never as plaintext
  std::string tampered = sealed;
  tampered[15] ^= 1;
  EXPECT_FALSE(s.Open("new", tampered, "k:1\nhead", plain));
  // Rotation: a record sealed by the old key still opens while the old key is listed.
  Sealer old_only({Key("old", 2)});
  std::string by_old;
  ASSERT_TRUE(old_only.Seal("x", "a", by_old));
  EXPECT_TRUE(s.Open("old", by_old, "a", plain));
  EXPECT_FALSE(Sealer({Key("new", 1)}).Open("old", by_old, "a", plain));
}

TEST(IdempotencySealer, KeyFilesHoldThirtyTwoBytes) {
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + name) << text;
    return dir + name;
  };
  SealKey k;
  std::string error;
  EXPECT_TRUE(Sealer::ReadKeyFile(write("hex", std::string(64, 'a') + "\n"), k, error));
  EXPECT_EQ(k.bytes[0], 0xaa);
  EXPECT_TRUE(Sealer::ReadKeyFile(write("b64", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\n"), k,
                                  error));
  EXPECT_EQ(k.bytes[0], 1);
  EXPECT_EQ(k.bytes[31], 32);
  EXPECT_FALSE(Sealer::ReadKeyFile(write("short", std::string(62, 'a')), k, error));
  EXPECT_EQ(error.find("aaaa"), std::string::npos);  // key material never in a message
  EXPECT_FALSE(Sealer::ReadKeyFile(write("nothex", std::string(64, 'g')), k, error));
  EXPECT_FALSE(Sealer::ReadKeyFile(dir + "missing", k, error));
}

// One gate over an in-process store, with a scripted clock and one event loop that also runs
// the writes the gate leaves after each exchange.
class IdempotencyGateTest : public ::testing::Test {
 protected:
  IdempotencyGateTest() {
    store_ = std::make_shared<state::LocalKv>(1000, [this] { return now_; });
    core_ = std::make_shared<Core>();
    core_->config.lease = seconds(30);
    core_->route = "pay";
    core_->store = store_;
    core_->sealer = Sealer({Key("k1", 7)});
    core_->clock = [this] { return now_; };
    core_->wall = [this] {
      return std::chrono::duration_cast<milliseconds>(now_.time_since_epoch()).count();
    };
  }
  IdempotencyGate& Gate() {
    if (!gate_) gate_ = std::make_unique<IdempotencyGate>(core_);
    return *gate_;
  }

  struct Req {
    Exchange ex;
    http::HeaderList headers;
    http::HeaderList response;
    Decision decision;
  };
  std::unique_ptr<Req> Request(std::string_view key, std::string body, std::string principal = "") {
    auto r = std::make_unique<Req>();
    r->ex.method = "POST";
    r->ex.target = "/pay";
    r->ex.path = "/pay";
    r->ex.client_address = asio::ip::make_address("192.0.2.1");
    r->ex.identity.principal = principal;
    if (!key.empty()) r->headers.Add("Idempotency-Key", key);
    r->ex.request_headers = &r->headers;
    r->ex.slots.resize(1);
    Decision d = Gate().OnRequestHeaders(r->ex);
    if (d.is_continue()) d = Gate().OnRequestBody(r->ex, body, true);
    if (d.kind == Decision::Kind::kAwait) {
      asio::co_spawn(io_, Gate().OnRequestBodyAsync(r->ex, body, true),
                     [&](std::exception_ptr, Decision x) { d = std::move(x); });
      io_.restart();
      io_.run();
    }
    r->decision = std::move(d);
    return r;
  }
  // The origin answers the holder; the exchange ends and its record is written.
  void Answer(Req& r, int status, std::string body, Completion c = {}) {
    r.response.Add("Content-Type", "application/json");
    r.response.Add("Content-Length", std::to_string(body.size()));
    r.response.Add("Connection", "keep-alive");
    r.ex.status = status;
    r.ex.response = {status, &r.response, {}, true};
    RunResponsePhase(r);
    const std::size_t half = body.size() / 2;  // two pieces, as they stream
    Gate().OnResponseBody(r.ex, body.substr(0, half), false);
    Gate().OnResponseBody(r.ex, body.substr(half), true);
    c.status = status;
    c.request_sent = true;
    Complete(r, c);
  }
  // rampart's own answer (a 502, a 504) to the holder: its result is written before it is sent.
  void OwnAnswer(Req& r, int status, std::string_view reason, bool request_sent) {
    r.ex.status = status;
    r.ex.response = {status, nullptr, reason, request_sent};
    RunResponsePhase(r);
  }
  // The response phase as the driver runs it: the holder's write is awaited before the answer
  // goes to the client.
  void RunResponsePhase(Req& r) {
    Decision d = Gate().OnResponseHeaders(r.ex);
    if (d.kind == Decision::Kind::kAwait) {
      asio::co_spawn(io_, Gate().OnResponseHeadersAsync(r.ex),
                     [&](std::exception_ptr, Decision x) { d = std::move(x); });
      io_.restart();
      io_.run();
    }
    EXPECT_TRUE(d.is_continue());
  }
  void Complete(Req& r, Completion c) {
    Gate().OnComplete(r.ex, c);
    io_.restart();
    io_.run();
  }
  std::string Notes(const Req& r) {
    std::string s;
    for (const auto& n : r.ex.notes) s += std::string(n.outcome) + ";";
    return s;
  }

  SteadyTime now_{};
  asio::io_context io_;
  std::shared_ptr<state::LocalKv> store_;
  std::shared_ptr<Core> core_;
  std::unique_ptr<IdempotencyGate> gate_;
};

TEST_F(IdempotencyGateTest, FirstExecutesThenRepeatsReplayByteForByte) {
  auto first = Request("k-1", "{\"amount\":10}");
  ASSERT_TRUE(first->decision.is_continue());
  EXPECT_EQ(Notes(*first), "first;");
  EXPECT_TRUE(first->ex.retry_safe);
  Answer(*first, 201, "{\"charge\":\"ch_1\"}");

  auto again = Request("k-1", "{\"amount\":10}");
  ASSERT_EQ(again->decision.kind, Decision::Kind::kServe);
  EXPECT_EQ(again->decision.headers, "Idempotent-Replayed: true\r\n");
  const StoredResponse& s = *again->decision.stored;
  EXPECT_EQ(s.status, 201);
  EXPECT_EQ(s.body, "{\"charge\":\"ch_1\"}");
  // End-to-end fields only: framing and hop-by-hop fields are the replay's own.
  ASSERT_EQ(s.headers.size(), 1u);
  EXPECT_EQ(s.headers[0],
            (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  EXPECT_EQ(Notes(*again), "replayed;");
}

TEST_F(IdempotencyGateTest, TheSameKeyForAnotherRequestIs422) {
  auto first = Request("k-1", "{\"amount\":10}");
  auto other = Request("k-1", "{\"amount\":99}");
  EXPECT_EQ(other->decision.status, 422);
  EXPECT_EQ(other->decision.reason, "idempotency_key_reused");
  Answer(*first, 200, "ok");
  EXPECT_EQ(Request("k-1", "{\"amount\":99}")->decision.status, 422);
}

TEST_F(IdempotencyGateTest, ADuplicateInFlightGets409WithRetryAfter) {
  auto first = Request("k-1", "x");
  auto dup = Request("k-1", "x");
  EXPECT_EQ(dup->decision.status, 409);
  EXPECT_EQ(dup->decision.reason, "idempotency_in_flight");
  EXPECT_EQ(dup->decision.headers, "Retry-After: 1\r\n");
  EXPECT_EQ(Notes(*dup), "conflict;");
}

TEST_F(IdempotencyGateTest, KeysAreScopedByPrincipalOrAddress) {
  auto alice = Request("k-1", "x", "alice");
  auto bob = Request("k-1", "x", "bob");
  auto anon = Request("k-1", "x");
  EXPECT_TRUE(alice->decision.is_continue());
  EXPECT_TRUE(bob->decision.is_continue());
  EXPECT_TRUE(anon->decision.is_continue());
}

TEST_F(IdempotencyGateTest, ALostLeaseIsRetriedAndTheStaleHoldersWriteIsRefused) {
  auto stalled = Request("k-1", "x");
  ASSERT_TRUE(stalled->decision.is_continue());
  now_ += seconds(30);  // the holder's lease ran out
  auto retry = Request("k-1", "x");
  ASSERT_TRUE(retry->decision.is_continue()) << retry->decision.reason;
  Answer(*retry, 200, "second");
  Answer(*stalled, 200, "first, late");  // its fencing token is no longer the record's
  EXPECT_NE(Notes(*stalled).find("lease_expired;"), std::string::npos);
  auto replay = Request("k-1", "x");
  ASSERT_EQ(replay->decision.kind, Decision::Kind::kServe);
  EXPECT_EQ(replay->decision.stored->body, "second");
}

TEST_F(IdempotencyGateTest, AConnectFailureReleasesTheKeyBeforeTheClientHears) {
  auto first = Request("k-1", "x");
  OwnAnswer(*first, 502, "upstream_unavailable", /*request_sent=*/false);
  // Released already: a retry the instant the 502 arrives executes.
  auto again = Request("k-1", "x");
  EXPECT_TRUE(again->decision.is_continue());
  EXPECT_EQ(Notes(*again), "first;");
  Complete(*first, Completion{.status = 502, .error = "upstream_unavailable"});
  EXPECT_EQ(Request("k-1", "x")->decision.status, 409);  // the retry holds it now
}

TEST_F(IdempotencyGateTest, ATimeoutAfterSendingIsNotExecutedTwice) {
  auto first = Request("k-1", "x");
  OwnAnswer(*first, 504, "upstream_timeout", /*request_sent=*/true);
  auto again = Request("k-1", "x");
  EXPECT_EQ(again->decision.status, 409);
  EXPECT_EQ(again->decision.reason, "idempotency_not_replayable");
  EXPECT_NE(again->decision.message.find("504"), std::string::npos);
}

TEST_F(IdempotencyGateTest, AClientGoneBeforeAnyAnswerKeepsTheKeyFromExecutingAgain) {
  auto first = Request("k-1", "x");
  Complete(*first, Completion{.status = 0, .error = "client_reset", .request_sent = true});
  auto again = Request("k-1", "x");
  EXPECT_EQ(again->decision.status, 409);
  EXPECT_EQ(again->decision.reason, "idempotency_not_replayable");
}

TEST_F(IdempotencyGateTest, OnceTheOriginAnsweredASlowDeliveryNeverFreesTheKey) {
  auto first = Request("k-1", "x");
  first->response.Add("Content-Type", "application/json");
  first->ex.status = 200;
  first->ex.response = {200, &first->response, {}, true};
  RunResponsePhase(*first);  // the head came: the record says answered, for retention
  EXPECT_EQ(Request("k-1", "x")->decision.reason, "idempotency_in_flight");
  now_ += seconds(31);  // past the lease while the client still reads the body
  auto late = Request("k-1", "x");
  EXPECT_EQ(late->decision.reason, "idempotency_not_replayable");  // never executed again
  Gate().OnResponseBody(first->ex, "done", true);
  Complete(*first, Completion{.status = 200, .request_sent = true});
  auto replay = Request("k-1", "x");
  ASSERT_EQ(replay->decision.kind, Decision::Kind::kServe);
  EXPECT_EQ(replay->decision.stored->body, "done");
}

TEST_F(IdempotencyGateTest, ServerErrorReleaseIsForTheOriginsOwn5xxOnly) {
  core_->config.release_on_server_error = true;
  auto first = Request("k-1", "x");
  OwnAnswer(*first, 504, "upstream_timeout", /*request_sent=*/true);  // the origin may have acted
  EXPECT_EQ(Request("k-1", "x")->decision.reason, "idempotency_not_replayable");
}

TEST_F(IdempotencyGateTest, ARequestWithoutAKeyLetsItsBodyStream) {
  auto none = Request("", "x");
  EXPECT_TRUE(none->ex.slots[0].skip_body);
  auto keyed = Request("k-1", "x");
  EXPECT_FALSE(keyed->ex.slots[0].skip_body);
}

TEST_F(IdempotencyGateTest, RepliesLeaveOutFieldsTheClientNeverGot) {
  auto first = Request("k-1", "x");
  first->response.Add("X-Rampart-Session-Principal", "alice");  // a gate removes it
  first->ex.response_remove.push_back("x-rampart-session-principal");
  Answer(*first, 200, "ok");
  auto replay = Request("k-1", "x");
  ASSERT_EQ(replay->decision.kind, Decision::Kind::kServe);
  for (const auto& [n, v] : replay->decision.stored->headers) {
    EXPECT_NE(n, "X-Rampart-Session-Principal");
  }
}

TEST_F(IdempotencyGateTest, ServerErrorsReleaseWhenConfigured) {
  core_->config.release_on_server_error = true;
  auto first = Request("k-1", "x");
  Answer(*first, 503, "busy");
  EXPECT_TRUE(Request("k-1", "x")->decision.is_continue());
}

TEST_F(IdempotencyGateTest, AnAnswerLargerThanTheLimitIsNotReplayed) {
  core_->config.max_response = 4;
  auto first = Request("k-1", "x");
  Answer(*first, 200, "too long");
  auto again = Request("k-1", "x");
  EXPECT_EQ(again->decision.status, 409);
  EXPECT_EQ(again->decision.reason, "idempotency_not_replayable");
}

TEST_F(IdempotencyGateTest, RecordsAreSealedAndAnUnknownKeyIdFailsClosed) {
  auto first = Request("k-1", "x");
  Answer(*first, 200, "secret-answer");
  // The stored bytes do not hold the answer.
  bool found = false;
  for (int i = 0; i < 1; ++i) {
    asio::co_spawn(io_, store_->Scan("k:", 10, 0), [&](std::exception_ptr, state::KvResult r) {
      ASSERT_EQ(r.keys.size(), 1u);
      const std::string v = store_->GetNow(r.keys[0]).value;
      found = true;
      EXPECT_EQ(v.find("secret-answer"), std::string::npos);
      EXPECT_NE(v.find(" k1\n"), std::string::npos);
    });
    io_.restart();
    io_.run();
  }
  EXPECT_TRUE(found);
  core_->sealer = Sealer({Key("k2", 9)});  // k1 removed: its records cannot be opened
  auto again = Request("k-1", "x");
  EXPECT_EQ(again->decision.status, 500);
  EXPECT_EQ(again->decision.reason, "idempotency_record_unreadable");
}

TEST_F(IdempotencyGateTest, RetentionEndsTheRecord) {
  core_->config.retention = seconds(60);
  auto first = Request("k-1", "x");
  Answer(*first, 200, "a");
  now_ += seconds(59);
  EXPECT_EQ(Request("k-1", "x")->decision.kind, Decision::Kind::kServe);
  now_ += seconds(1);
  EXPECT_TRUE(Request("k-1", "x")->decision.is_continue());
}

TEST_F(IdempotencyGateTest, MissingInvalidAndOtherMethods) {
  EXPECT_TRUE(Request("", "x")->decision.is_continue());  // optional by default
  core_->config.required = true;
  auto missing = Request("", "x");
  EXPECT_EQ(missing->decision.status, 400);
  EXPECT_EQ(missing->decision.reason, "idempotency_key_missing");
  EXPECT_NE(missing->decision.message.find("idempotency-key"), std::string::npos);
  EXPECT_EQ(Request("a b", "x")->decision.reason, "idempotency_key_invalid");
  // A repeated field is refused rather than one of them picked.
  Req r;
  r.headers.Add("Idempotency-Key", "a");
  r.headers.Add("idempotency-key", "b");
  r.ex.method = "POST";
  r.ex.request_headers = &r.headers;
  r.ex.slots.resize(1);
  EXPECT_EQ(Gate().OnRequestHeaders(r.ex).reason, "idempotency_key_invalid");
  Req get;
  get.ex.method = "GET";
  get.ex.request_headers = &get.headers;
  get.ex.slots.resize(1);
  EXPECT_TRUE(Gate().OnRequestHeaders(get.ex).is_continue());
}

TEST_F(IdempotencyGateTest, AStoreThatCannotAnswerRefusesOrLetsThroughAsConfigured) {
  // A real in-process store, full of live keys: every call answers "unavailable".
  auto full = std::make_shared<state::LocalKv>(16, [this] { return now_; });
  for (int i = 0; i < 400; ++i) full->SetNow("other" + std::to_string(i), "v", seconds(600), true);
  core_->store = full;
  auto refused = Request("k-1", "x");
  EXPECT_EQ(refused->decision.status, 503);
  EXPECT_EQ(refused->decision.reason, "store_unavailable");
  EXPECT_EQ(Notes(*refused), "store_unavailable;");
  core_->config.on_store_failure = StoreFailure::kAllow;  // the operator chose fail-open
  auto allowed = Request("k-1", "x");
  EXPECT_TRUE(allowed->decision.is_continue());
  EXPECT_EQ(Notes(*allowed), "store_failure_allowed;");
  EXPECT_FALSE(allowed->ex.retry_safe);  // no key held: nothing makes a retry safe
}

TEST_F(IdempotencyGateTest, AFencingTokenGoesUpstreamAndGrows) {
  core_->config.fencing_header = "idempotency-fencing-token";
  auto a = Request("k-1", "x");
  auto b = Request("k-2", "x");
  ASSERT_EQ(a->ex.upstream_headers.size(), 1u);
  EXPECT_EQ(a->ex.upstream_headers[0].second, "1");
  now_ += seconds(30);
  EXPECT_EQ(b->ex.upstream_headers[0].second, "2");  // one counter: increasing across keys
  auto a2 = Request("k-1", "x");  // after a lease ran out, the next holder's token is larger
  EXPECT_EQ(a2->ex.upstream_headers[0].second, "3");
  // Without a key the header is still claimed (empty: a client-sent one is removed upstream).
  auto none = Request("", "x");
  ASSERT_EQ(none->ex.upstream_headers.size(), 1u);
  EXPECT_EQ(none->ex.upstream_headers[0],
            (std::pair<std::string, std::string>{"idempotency-fencing-token", ""}));
}

}  // namespace
}  // namespace rampart::idempotency
