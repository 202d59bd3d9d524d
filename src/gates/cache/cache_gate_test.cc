// The cache gate's stampede defences under a scripted clock and seeded random numbers:
// coalescing, stale-while-revalidate, stale-if-error, XFetch early refresh and TTL jitter.
#include "gates/cache/cache_gate.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cctype>
#include <functional>
#include <random>

#include "core/secrets.h"
#include "observe/metrics.h"
#include "pipeline/router.h"
#include "state/kv/local_kv.h"

namespace rampart::cache {
namespace {

namespace asio = boost::asio;
using std::chrono::seconds;

struct Req {
  Exchange ex;
  http::HeaderList headers;
  http::HeaderList response;
  std::string key;
};

class CacheGateTest : public ::testing::Test {
 protected:
  CacheGate& Gate() {
    if (!gate_) {
      CacheClock clock{[this] { return now_; }, [this] { return uniform_(rng_); }};
      gate_ = std::make_unique<CacheGate>(config_, store_, flights_, shared_,
                                          observe::OutcomeCounters(), clock);
    }
    return *gate_;
  }
  // Runs `r`'s asynchronous request phase on `io` (once io runs); its decision lands in `out`.
  void SpawnWaiter(asio::io_context& io, Req& r, Decision& out) {
    asio::co_spawn(io, Gate().OnRequestHeadersAsync(r.ex),
                   [&out](std::exception_ptr, Decision d) { out = std::move(d); });
  }
  // A miss that leads the flight to the origin, and a second one on the same key that waits for
  // it: its decision lands in `got` once `io` runs.
  struct Flight {
    std::unique_ptr<Req> leader, waiter;
    asio::io_context io;
    Decision got = Decision::Await();
  };
  void StartFlight(Flight& f) {
    f.leader = Request();
    ASSERT_TRUE(Gate().OnRequestHeaders(f.leader->ex).is_continue());
    f.waiter = Request();
    ASSERT_EQ(Gate().OnRequestHeaders(f.waiter->ex).kind, Decision::Kind::kAwait);
    SpawnWaiter(f.io, *f.waiter, f.got);
  }
  std::unique_ptr<Req> Request(std::string path = "/hot") {
    auto r = std::make_unique<Req>();
    r->key = std::move(path);
    r->ex.method = "GET";
    r->ex.target = r->key;
    r->ex.path = r->key;
    r->ex.authority = "example.com";
    r->ex.host = "example.com";
    r->ex.request_headers = &r->headers;
    r->ex.start = steady_;
    r->ex.slots.resize(1);
    return r;
  }
  // The origin's head for `r`: `cache_control` (and `status`), and any fields already added.
  Decision AnswerHead(Req& r, std::string cache_control, int status = 200) {
    r.response.Add("Cache-Control", cache_control);
    r.response.Add("ETag", "\"v1\"");
    r.ex.status = status;
    r.ex.response = {status, &r.response, {}, true};
    return Gate().OnResponseHeaders(r.ex);
  }
  // The body ends the exchange (after a head the gate let through).
  void AnswerBody(Req& r, bool head_continued = true) {
    if (head_continued) {
      Gate().OnResponseBody(r.ex, "body", true);
      Gate().OnComplete(r.ex, Completion{r.ex.status, {}, {}, {}, 1, true});
    }
    r.ex.slots[0].state.reset();  // the driver frees the gate state when the exchange ends
  }
  // The origin answers `r` with `cache_control` (and `status`); its body ends the exchange.
  Decision Answer(Req& r, std::string cache_control, int status = 200) {
    Decision d = AnswerHead(r, std::move(cache_control), status);
    AnswerBody(r, d.is_continue());
    return d;
  }
  // Stores /hot with `cache_control`, its fetch taking `fetch` (delta for XFetch).
  void Fill(std::string cache_control, seconds fetch = seconds(1), std::string path = "/hot") {
    auto r = Request(path);
    ASSERT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue());
    now_ += fetch;
    Answer(*r, std::move(cache_control));
  }

  CacheConfig config_ = [] {
    CacheConfig c;
    c.ttl_jitter = 0;
    return c;
  }();
  std::shared_ptr<CacheStore> store_ = std::make_shared<CacheStore>(16 << 20);
  std::shared_ptr<Flights> flights_ = std::make_shared<Flights>();
  std::shared_ptr<SharedTier> shared_;
  WallTime now_ = WallTime(seconds(1'800'000'000));
  SteadyTime steady_ = SteadyTime(seconds(1000));
  std::mt19937_64 rng_{7};
  std::uniform_real_distribution<double> uniform_{std::nextafter(0.0, 1.0), 1.0};
  std::unique_ptr<CacheGate> gate_;
};

TEST_F(CacheGateTest, XFetchRefreshesAHotKeyShortlyBeforeItExpires) {
  Fill("max-age=60");  // stored at t=1s (its fetch took 1 s), expires at t=61s
  const WallTime stored = now_;
  double first = -1;
  int refreshes = 0;
  // Ten requests a second until just before expiry (its age counts the fetch's second).
  for (int tick = 0; tick < 585; ++tick) {
    now_ = stored + std::chrono::milliseconds(100 * tick);
    auto r = Request();
    const Decision d = Gate().OnRequestHeaders(r->ex);
    ASSERT_EQ(d.kind, Decision::Kind::kServe) << tick;
    if (r->ex.refresh_gate == 0) {
      ++refreshes;
      if (first < 0) first = tick / 10.0;
    }
  }
  // P(refresh) = exp(-(time left)/delta): negligible a minute out, likely in the last seconds.
  ASSERT_GE(first, 0) << "no early refresh before expiry";
  EXPECT_GE(first, 45.0);
  EXPECT_LT(first, 58.5);
  EXPECT_LT(refreshes, 60);
}

TEST_F(CacheGateTest, XFetchOffNeverRefreshesAFreshEntry) {
  config_.early_refresh = 0;
  Fill("max-age=60");
  const WallTime stored = now_;
  for (int tick = 0; tick < 585; ++tick) {
    now_ = stored + std::chrono::milliseconds(100 * tick);
    auto r = Request();
    ASSERT_EQ(Gate().OnRequestHeaders(r->ex).kind, Decision::Kind::kServe);
    EXPECT_EQ(r->ex.refresh_gate, -1);
  }
}

TEST_F(CacheGateTest, TtlJitterSpreadsTheExpiriesOfKeysStoredTogether) {
  config_.ttl_jitter = 0.5;
  std::set<long> lifetimes;
  for (int i = 0; i < 100; ++i) {
    const std::string path = "/k" + std::to_string(i);
    Fill("max-age=1000", seconds(0), path);
    auto e = store_->Get(Gate().Key(Request(path)->ex), [](const CachedResponse&) { return true; });
    ASSERT_TRUE(e);
    EXPECT_GE(e->lifetime.count(), 500);
    EXPECT_LE(e->lifetime.count(), 1000);
    lifetimes.insert(e->lifetime.count());
  }
  EXPECT_GT(lifetimes.size(), 50u);  // spread, not one expiry for all
}

TEST_F(CacheGateTest, ConcurrentMissesWaitForTheLeaderAndAreServedItsAnswer) {
  auto leader = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(leader->ex).is_continue());
  std::vector<std::unique_ptr<Req>> waiters;
  for (int i = 0; i < 50; ++i) {
    waiters.push_back(Request());
    ASSERT_EQ(Gate().OnRequestHeaders(waiters.back()->ex).kind, Decision::Kind::kAwait);
  }
  asio::io_context io;
  std::vector<Decision> got(waiters.size());
  for (std::size_t i = 0; i < waiters.size(); ++i) {
    asio::co_spawn(io, Gate().OnRequestHeadersAsync(waiters[i]->ex),
                   [&got, i](std::exception_ptr, Decision d) { got[i] = std::move(d); });
  }
  asio::post(io, [&] {  // the origin answers the leader while the others wait
    now_ += seconds(1);
    Answer(*leader, "max-age=60");
  });
  io.run();
  for (const auto& d : got) {
    ASSERT_EQ(d.kind, Decision::Kind::kServe);
    EXPECT_EQ(d.stored->body, "body");
  }
  EXPECT_EQ(flights_->leading(), 0u);
}

TEST_F(CacheGateTest, AWaiterWhoseLeaderStoresNothingGoesToTheOriginItself) {
  Flight f;
  ASSERT_NO_FATAL_FAILURE(StartFlight(f));
  asio::post(f.io, [&] { Answer(*f.leader, "no-store"); });
  f.io.run();
  EXPECT_TRUE(f.got.is_continue());
}

// A leader's answer already older than its lifetime (an upstream cache's Age) is not streamed
// to its waiters as a fresh answer: they go to the origin themselves (RFC 9111 section 4.2.3).
TEST_F(CacheGateTest, AnAnswerStaleOnArrivalIsNotStreamedToWaiters) {
  for (const char* age : {"120", "30"}) {
    Flight f;
    ASSERT_NO_FATAL_FAILURE(StartFlight(f));
    std::function<void(int)> body = [&](int turns) {
      if (turns > 0) {
        asio::post(f.io, [&body, turns] { body(turns - 1); });
        return;
      }
      AnswerBody(*f.leader);
    };
    asio::post(f.io, [&] {
      // The head arrives; the body only some turns of the loop later, so that a waiter offered
      // the stream has decided by then (it reads a stream as it arrives, not a stored entry).
      f.leader->response.Add("Age", age);
      f.leader->response.Add("Content-Length", "4");  // known length: waiters may stream it
      ASSERT_TRUE(AnswerHead(*f.leader, "max-age=60").is_continue());
      body(16);
    });
    f.io.run();
    if (std::string_view(age) == "120") {
      EXPECT_TRUE(f.got.is_continue());
    } else {
      ASSERT_EQ(f.got.kind, Decision::Kind::kServe);  // fresh for 30 s more: shared
      ASSERT_NE(f.got.stored, nullptr);
      std::vector<std::string> ages;
      for (const auto& [n, v] : f.got.stored->headers) {
        if (n == "Age") ages.push_back(v);
      }
      EXPECT_EQ(ages, std::vector<std::string>{"30"});  // the age it arrived with, once
    }
    // A fresh gate, store and flights table for the next answer.
    f.waiter.reset();
    f.leader.reset();
    store_ = std::make_shared<CacheStore>(16 << 20);
    flights_ = std::make_shared<Flights>();
    gate_.reset();
  }
}

TEST_F(CacheGateTest, MissesOnAKeyWhoseAnswerWasNotStoredPassWithoutWaiting) {
  auto leader = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(leader->ex).is_continue());
  Answer(*leader, "no-store");
  for (int i = 0; i < 3; ++i) {  // concurrent misses: none waits on another
    auto r = Request();
    EXPECT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue()) << i;
  }
  // Once the pass mark (10 s) is over, misses coalesce again.
  auto later = Request();
  later->ex.start = steady_ + seconds(11);
  ASSERT_TRUE(Gate().OnRequestHeaders(later->ex).is_continue());
  auto follower = Request();
  follower->ex.start = steady_ + seconds(11);
  EXPECT_EQ(Gate().OnRequestHeaders(follower->ex).kind, Decision::Kind::kAwait);
}

// The request fields that keep a GET from the cache, in any letter case and wherever they sit
// among the others: a body (fat GET), a range, a cookie, credentials, and the client's
// no-store. A zero Content-Length is no body.
TEST_F(CacheGateTest, RequestFieldsThatBypassTheCacheAreFoundInAnyCaseAndPosition) {
  Fill("max-age=60");
  const std::vector<std::pair<std::string, std::string>> bypassing = {
      {"TRANSFER-ENCODING", "chunked"}, {"content-length", "5"},
      {"Range", "bytes=0-1"},           {"cOOKIE", "s=1"},
      {"authorization", "Bearer x"},    {"Cache-Control", "max-age=0, NO-STORE"}};
  for (const auto& [name, value] : bypassing) {
    auto r = Request();
    r->headers.Add("Accept", "*/*");
    r->headers.Add(name, value);
    r->headers.Add("X-After", "1");
    const Decision d = Gate().OnRequestHeaders(r->ex);
    EXPECT_TRUE(d.is_continue()) << name;
    ASSERT_EQ(r->ex.notes.size(), 1u) << name;
    EXPECT_EQ(r->ex.notes[0].outcome, "bypass") << name;
    EXPECT_EQ(r->ex.slots[0].state, nullptr) << name;
  }
  // Neither a zero length nor a conditional keeps the stored answer from answering.
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"Content-Length", "0"}, {"If-None-Match", "\"v0\""}}) {
    auto r = Request();
    r->headers.Add(name, value);
    const Decision d = Gate().OnRequestHeaders(r->ex);
    EXPECT_EQ(d.kind, Decision::Kind::kServe) << name;
  }
}

// A stale entry is revalidated with its own validators, unless the client brought conditions
// of its own (If-None-Match or If-Modified-Since, in any case): then none are added.
TEST_F(CacheGateTest, RevalidationAddsValidatorsOnlyWhenTheClientBroughtNone) {
  Fill("max-age=1");
  now_ += seconds(30);
  auto plain = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(plain->ex).is_continue());
  ASSERT_EQ(plain->ex.upstream_headers.size(), 1u);
  EXPECT_EQ(plain->ex.upstream_headers[0].first, "If-None-Match");
  EXPECT_EQ(plain->ex.upstream_headers[0].second, "\"v1\"");
  plain->ex.slots[0].state.reset();  // lands its flight: the next one leads, not waits
  for (const char* name : {"if-none-match", "IF-MODIFIED-SINCE"}) {
    auto r = Request();
    r->headers.Add(name, "x");
    ASSERT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue()) << name;
    EXPECT_TRUE(r->ex.upstream_headers.empty()) << name;
    r->ex.slots[0].state.reset();
  }
}

// An uncacheable answer to a leader that brought its own conditions says nothing about the key:
// no pass mark, the next misses coalesce again.
TEST_F(CacheGateTest, AConditionalLeadersUncacheableAnswerLeavesNoPassMark) {
  auto leader = Request();
  leader->headers.Add("If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT");
  ASSERT_TRUE(Gate().OnRequestHeaders(leader->ex).is_continue());
  Answer(*leader, "no-store");
  auto next = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(next->ex).is_continue());  // leads: no pass mark
  auto follower = Request();
  EXPECT_EQ(Gate().OnRequestHeaders(follower->ex).kind, Decision::Kind::kAwait);
}

// On a route that caches credentialed requests, the answer to one is stored only when it says a
// shared cache may (RFC 9111 section 3.5: public here).
TEST_F(CacheGateTest, AnAnswerToACredentialedRequestIsStoredOnlyWhenMarkedShareable) {
  config_.cache_authorized = true;
  for (const auto& [cc, stored] : std::vector<std::pair<std::string, bool>>{
           {"max-age=60", false}, {"public, max-age=60", true}}) {
    const std::string path = "/auth-" + std::to_string(stored);
    auto r = Request(path);
    r->headers.Add("Authorization", "Bearer x");
    ASSERT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue()) << cc;
    Answer(*r, cc);
    auto again = Request(path);
    again->headers.Add("Authorization", "Bearer x");
    EXPECT_EQ(Gate().OnRequestHeaders(again->ex).kind == Decision::Kind::kServe, stored) << cc;
    again->ex.slots[0].state.reset();
  }
}

// The key, exactly: scheme, authority lower-cased, path, "?", the kept query parameters sorted
// by name (repeated names in their order), then the route between newlines.
TEST_F(CacheGateTest, TheKeyIsTheUrlAsTheOriginSeesItThenTheRoute) {
  CompiledRoute route;
  route.name = "items";
  auto r = Request("/Items/1");
  r->ex.authority = "API.Example.com:8443";
  r->ex.route = &route;
  EXPECT_EQ(Gate().Key(r->ex), "http://api.example.com:8443/Items/1?\nitems\n");
  r->ex.is_tls = true;
  r->ex.query = "b=2&a=1&b=1&&c";
  EXPECT_EQ(Gate().Key(r->ex), "https://api.example.com:8443/Items/1?a=1&b=2&b=1&c\nitems\n");
  r->ex.route = nullptr;
  r->ex.query = {};
  EXPECT_EQ(Gate().Key(r->ex), "https://api.example.com:8443/Items/1?\n\n");
}

// A miss writes its key in place when it is short and only the URL and route (no allocation);
// whichever way it was made, the entry is stored under Key(): every authority length (its capitals
// lowered 8 bytes at a time, the last 8 overlapping), a path past the in-place room, a query.
TEST_F(CacheGateTest, AnEntryIsStoredUnderItsKeyHoweverTheKeyWasWritten) {
  CompiledRoute route;
  route.name = "r";
  config_.query = CacheConfig::Query::kAll;
  const std::string host = "AbCdEfGhIjKlMnOpQrStUvWx.Example.COM";
  for (std::size_t a = 0; a <= host.size(); ++a) {
    for (const std::size_t path_len : {1, 30, 240, 300}) {
      for (const bool with_query : {false, true}) {
        const std::string path = "/" + std::string(path_len - 1, 'P');
        auto r = Request(path);
        r->ex.authority = std::string_view(host).substr(0, a);
        r->ex.route = &route;
        if (with_query) r->ex.query = "b=2&a=1";
        ASSERT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue());
        Answer(*r, "max-age=60");
        const std::string key = Gate().Key(r->ex);
        EXPECT_NE(store_->Get(key, [](const CachedResponse&) { return true; }), nullptr)
            << "authority length " << a << ", path length " << path_len << ", query " << with_query;
        std::string lowered(host.substr(0, a));
        for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        EXPECT_EQ(key.substr(0, 7 + a), "http://" + lowered);
      }
    }
  }
}

TEST_F(CacheGateTest, AWaitIsBoundedWhenTheLeaderNeverAnswers) {
  config_.coalesce_timeout = std::chrono::milliseconds(20);
  Flight f;
  ASSERT_NO_FATAL_FAILURE(StartFlight(f));
  f.io.run();  // ends when the waiter's timer fires
  EXPECT_TRUE(f.got.is_continue());
}

TEST_F(CacheGateTest, ALeaderThatNeverLandsHoldsItsKeyOnlyForTheLease) {
  auto leader = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(leader->ex).is_continue());
  // The leader never lands (its state stays alive here, as a stuck exchange's would).
  auto late = Request();
  late->ex.start = steady_ + seconds(6);  // past the 5 s lease
  EXPECT_TRUE(Gate().OnRequestHeaders(late->ex).is_continue());
}

TEST_F(CacheGateTest, StaleWhileRevalidateServesAtOnceAndAsksForOneRefresh) {
  Fill("max-age=10, stale-while-revalidate=30");
  now_ += seconds(20);  // stale, within the window
  auto first = Request();
  Decision d = Gate().OnRequestHeaders(first->ex);
  ASSERT_EQ(d.kind, Decision::Kind::kServe);
  EXPECT_EQ(d.reason, "cache_stale");
  EXPECT_EQ(first->ex.refresh_gate, 0);
  // More stale hits before the copy even runs: the refresh is asked for once.
  for (int i = 0; i < 5; ++i) {
    auto again = Request();
    ASSERT_EQ(Gate().OnRequestHeaders(again->ex).kind, Decision::Kind::kServe);
    EXPECT_EQ(again->ex.refresh_gate, -1) << i;
  }
  // The driver runs the background copy: it leads the key while it fetches.
  auto copy = Request();
  copy->ex.background = true;
  copy->ex.refresh_gate = 0;
  ASSERT_TRUE(Gate().OnRequestHeaders(copy->ex).is_continue());
  bool conditional = false;
  for (const auto& [n, v] : copy->ex.upstream_headers)
    conditional |= n == "If-None-Match" && v == "\"v1\"";
  EXPECT_TRUE(conditional);
  // Meanwhile others get the stale entry without asking for another refresh.
  auto second = Request();
  ASSERT_EQ(Gate().OnRequestHeaders(second->ex).kind, Decision::Kind::kServe);
  EXPECT_EQ(second->ex.refresh_gate, -1);
  auto copy2 = Request();
  copy2->ex.background = true;
  copy2->ex.refresh_gate = 0;
  EXPECT_EQ(Gate().OnRequestHeaders(copy2->ex).kind, Decision::Kind::kDrop);
  // The refresh lands a new answer: fresh again.
  Answer(*copy, "max-age=10, stale-while-revalidate=30");
  auto after = Request();
  d = Gate().OnRequestHeaders(after->ex);
  ASSERT_EQ(d.kind, Decision::Kind::kServe);
  EXPECT_EQ(d.reason, "cache_hit");
}

TEST_F(CacheGateTest, PastTheStaleWindowOrWithMustRevalidateTheOriginIsAsked) {
  Fill("max-age=10, stale-while-revalidate=30");
  now_ += seconds(45);
  auto late = Request();
  EXPECT_TRUE(Gate().OnRequestHeaders(late->ex).is_continue());
  late->ex.slots[0].state.reset();
  Fill("max-age=10, stale-while-revalidate=30, must-revalidate", seconds(1), "/strict");
  now_ += seconds(15);
  auto strict = Request("/strict");
  EXPECT_TRUE(Gate().OnRequestHeaders(strict->ex).is_continue());
}

TEST_F(CacheGateTest, StaleIfErrorAnswersAnOriginFailureWithinItsWindow) {
  Fill("max-age=10, stale-if-error=60");
  now_ += seconds(30);
  auto r = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(r->ex).is_continue());  // stale: to the origin
  r->ex.status = 502;
  r->ex.response = {502, nullptr, "upstream_unavailable", false};  // rampart's own 502
  const Decision d = Gate().OnResponseHeaders(r->ex);
  ASSERT_EQ(d.kind, Decision::Kind::kServe);
  EXPECT_EQ(d.reason, "cache_stale");
  EXPECT_EQ(d.stored->body, "body");
  r->ex.slots[0].state.reset();
  now_ += seconds(60);  // past max-age + stale-if-error
  auto late = Request();
  ASSERT_TRUE(Gate().OnRequestHeaders(late->ex).is_continue());
  EXPECT_TRUE(Answer(*late, "max-age=10", 503).is_continue());
}

TEST_F(CacheGateTest, WaitersOfALeaderTheOriginFailedAnswerStaleWithoutTryingIt) {
  Fill("max-age=10, stale-if-error=60");
  now_ += seconds(30);
  Flight f;  // the leader's entry is stale: it goes to the origin
  ASSERT_NO_FATAL_FAILURE(StartFlight(f));
  asio::post(f.io, [&] {
    f.leader->ex.status = 504;
    f.leader->ex.response = {504, nullptr, "upstream_timeout", true};  // the origin timed out
    const Decision d = Gate().OnResponseHeaders(f.leader->ex);
    EXPECT_EQ(d.reason, "cache_stale");
  });
  f.io.run();
  ASSERT_EQ(f.got.kind, Decision::Kind::kServe);  // not Continue: it does not try the origin
  EXPECT_EQ(f.got.reason, "cache_stale");
  EXPECT_EQ(f.got.stored->body, "body");
}

TEST_F(CacheGateTest, RouteStaleWindowsApplyWhenTheOriginNamesNone) {
  config_.stale_while_revalidate = seconds(30);
  Fill("max-age=10");
  now_ += seconds(20);
  auto r = Request();
  const Decision d = Gate().OnRequestHeaders(r->ex);
  ASSERT_EQ(d.kind, Decision::Kind::kServe);
  EXPECT_EQ(d.reason, "cache_stale");
}

// Runs a phase's asynchronous part (and whatever it spawned) on `io` to its end.
Decision RunAsync(asio::io_context& io, CacheGate& gate, Exchange& ex) {
  Decision out = Decision::Await();
  asio::co_spawn(io, gate.OnRequestHeadersAsync(ex),
                 [&](std::exception_ptr, Decision d) { out = std::move(d); });
  io.restart();
  io.run();
  return out;
}

// The origin's answer `body` to `r` through `gate`, to the end of the exchange (and of the
// shared tier's write it starts).
void Finish(asio::io_context& io, CacheGate& gate, Req& r, std::string_view body) {
  r.response.Add("Cache-Control", "max-age=60");
  r.ex.status = 200;
  r.ex.response = {200, &r.response, {}, true};
  ASSERT_TRUE(gate.OnResponseHeaders(r.ex).is_continue());
  gate.OnResponseBody(r.ex, body, true);
  gate.OnComplete(r.ex, Completion{200, {}, {}, {}, 1, true});
  r.ex.slots[0].state.reset();
  io.restart();
  io.run();
}

TEST_F(CacheGateTest, ALeaderThatPausedPastItsLeaseCannotOverwriteTheNextLeadersEntry) {
  SteadyTime kv_now = SteadyTime(seconds(5000));
  auto kv = std::make_shared<state::LocalKv>(1000, [&] { return kv_now; });
  auto tier = std::make_shared<SharedTier>(kv, 1 << 20, std::chrono::milliseconds(1000));
  const CacheClock clock{[this] { return now_; }, [this] { return uniform_(rng_); }};
  // Three instances: their own memory and flights, one shared tier.
  auto instance = [&] {
    return std::make_unique<CacheGate>(config_, std::make_shared<CacheStore>(16 << 20),
                                       std::make_shared<Flights>(), tier,
                                       observe::OutcomeCounters(), clock);
  };
  auto a = instance(), b = instance(), c = instance();
  asio::io_context io;

  auto ra = Request();
  ASSERT_EQ(a->OnRequestHeaders(ra->ex).kind, Decision::Kind::kAwait);
  ASSERT_TRUE(RunAsync(io, *a, ra->ex).is_continue());  // A leads: to its origin

  kv_now += seconds(2);  // A stalls past its 1 s lease
  auto rb = Request();
  ASSERT_EQ(b->OnRequestHeaders(rb->ex).kind, Decision::Kind::kAwait);
  ASSERT_TRUE(RunAsync(io, *b, rb->ex).is_continue());  // the lock lapsed: B leads
  Finish(io, *b, *rb, "newer");

  Finish(io, *a, *ra, "older");  // A wakes up and writes under its older token: refused

  const std::string entry_name = "e:" + Hex(Sha256(c->Key(Request()->ex)));
  const state::KvResult held = [&] {
    state::KvResult out;
    asio::co_spawn(io, kv->GetFenced(entry_name, 0),
                   [&](std::exception_ptr, state::KvResult r) { out = std::move(r); });
    io.restart();
    io.run();
    return out;
  }();
  ASSERT_EQ(held.status, state::KvStatus::kOk);
  EXPECT_EQ(held.number, 2);

  auto rc = Request();  // a third instance's miss is answered from the tier: B's entry
  ASSERT_EQ(c->OnRequestHeaders(rc->ex).kind, Decision::Kind::kAwait);
  const Decision d = RunAsync(io, *c, rc->ex);
  ASSERT_EQ(d.kind, Decision::Kind::kServe);
  EXPECT_EQ(d.stored->body, "newer");
}

}  // namespace
}  // namespace rampart::cache
