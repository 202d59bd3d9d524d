#!/usr/bin/env bash
# `make bench`: rampart side by side with nginx and HAProxy (Debian packages, one worker each,
# upstream keep-alive, no access log), rounds interleaved, through ../shared/bench/peers.sh;
# then RSS with idle keep-alive connections, plain and TLS (bench/idle_rss.py); then TLS and
# HTTP/2 (bench/tls_vs_nginx.py, bench/h2_upstream.py); then the request-body phase's cost
# (bench/builds_vs_peers.py --probe-hold); then busy polling off against on
# (bench/busy_poll.py); then what a per-IP rate limit costs end to end
# (bench/rate_limit_cost.py); then Redis-store decisions against redis-benchmark
# (bench/redis_decisions.py); then JWT verification against openssl speed
# (bench/jwt_verify_speed.py) and authentication end to end with HAProxy's jwt_verify beside it
# (bench/auth_cost.py); then idempotency keys on a POST route (bench/idempotency_cost.py); then
# upstream failures side by side with nginx and HAProxy (bench/failover_vs_peers.py) and what
# the resilience policies cost (bench/resilience_cost.py) and whether a bulkhead's reserve keeps
# a slow route from starving another (bench/bulkhead_isolation.py); then the connection gates'
# cost at accept (bench/accept_cost.py) and the botnet scenario with adaptive concurrency on and
# off (bench/botnet.py) and 1,000 slow connections beside nginx and HAProxy
# (bench/slow_clients.py); then the response cache against nginx's proxy_cache: the hit path's
# CPU per request, the miss path's overhead (one after the other, and both loaded at once) and a
# stampede on an expiring hot key
# (bench/cache_vs_nginx.py); then the WAF with OWASP CRS against libmodsecurity3 in process
# (rampart_waf_bench) and against nginx+ModSecurity end to end (bench/waf_vs_nginx.py); then the
# micro benchmarks (the IP-list table: BM_PrefixTable*; the
# cache store's hit ratio against LRU: BM_CacheHitRatio*; the cache gate's own work per hit and
# per uncacheable miss: BM_CacheGate*).
#   SCENARIOS="get_ka64 get_close64 post10k_ka64" DURATION=10 ROUNDS=3 make bench
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS:-../shared/bench/peers.sh}
export SCENARIOS=${SCENARIOS:-"get_ka64 get_c1 post10k_ka64 get_close64 h2_tls_c64m10"}
# TLS and HTTP/2 are compared by bench/tls_vs_nginx.py below (the scenarios the issues ask for,
# one TLS connection with 100 streams among them); the peers' TLS scenarios (tls_get_ka64,
# h2_tls_c64m10, ...) include rampart too when listed in SCENARIOS.
export DURATION=${DURATION:-10} ROUNDS=${ROUNDS:-3}
export BENCH_WORK=${BENCH_WORK:-$PWD/build/bench/run} BENCH_RESULTS=${BENCH_RESULTS:-$PWD/bench/results}
mkdir -p "$BENCH_WORK" "$BENCH_RESULTS"
# rampart serves HTTP/2 on its TLS port, so the peers' TLS scenarios can include it.
export RAMPART_TLS_PORT=${RAMPART_TLS_PORT:-19103} RAMPART_TLS_FULL_PORT=${RAMPART_TLS_FULL_PORT:-19113}
RAMPART_CMD='bench/rampart-peers.sh' "$PEERS"
echo
echo "== RSS with idle keep-alive connections"
python3 bench/idle_rss.py
echo
echo "== RSS with idle TLS keep-alive connections (no goal: the figure to bring down)"
python3 bench/idle_rss.py --tls
echo
echo "== TLS and HTTP/2 side by side with nginx and HAProxy (keep-alive, resumed and full"
echo "   handshakes, h2load over one TLS connection with 100 streams)"
python3 bench/tls_vs_nginx.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== HTTP/2 to an HTTP/2 origin (nghttpd): rampart protocol: h2, HAProxy proto h2, nginx grpc_pass"
python3 bench/h2_upstream.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== a route whose gate holds up to 64 KiB of request body (the body phase), 10 KiB POSTs,"
echo "   against the same route without it (B: rampart_probe with the probe gate, A: rampart)"
python3 bench/builds_vs_peers.py --a build/release/rampart --b build/release/rampart_probe \
  --probe-hold --only post10k_ka64 --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== busy polling off and on (10 KiB POSTs, 64 connections): req/s, CPU and wake-ups per request"
python3 bench/busy_poll.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== a per-IP rate limit in the path (local store)"
python3 bench/rate_limit_cost.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== Redis store: decisions/s against redis-benchmark, same script and pipelining"
python3 bench/redis_decisions.py --rounds "$ROUNDS"
echo
echo "== JWT signature verification against openssl speed (ES256, RS256, EdDSA)"
python3 bench/jwt_verify_speed.py --rounds "$ROUNDS"
echo
echo "== authentication in the path: jwt (cache on and off), api_key, session (Redis) against the"
echo "   open route, and HAProxy's jwt_verify on the same ES256 tokens"
python3 bench/auth_cost.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== idempotency keys on a POST route: first executions and replays, local and Redis store"
python3 bench/idempotency_cost.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== upstream failures: one of three origins dies and returns under load, and a full outage's"
echo "   retry amplification, rampart against nginx and HAProxy"
python3 bench/failover_vs_peers.py --window 10 --rounds "$ROUNDS"
echo
echo "== the resilience policies on the hot path: get_ka64 with breaker, bulkhead, retries,"
echo "   outlier detection and health checks on, against none (goal: at most 3% more CPU)"
python3 bench/resilience_cost.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== bulkhead isolation: /payments latency while a slow /reports fills the upstream's bulkhead"
echo "   (goal: with a reserve, p99 at most 1.5x its baseline, no failures)"
python3 bench/bulkhead_isolation.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== connection gates at accept: new connections/s and CPU per connection with caps and a"
echo "   1,000,000-prefix deny list, against none"
python3 bench/accept_cost.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== the botnet scenario: an origin of 32 servers flooded, adaptive concurrency on and off"
echo "   (goals: origin near its capacity, 503 p99 < 1 ms, admitted p99 <= 2x unloaded)"
python3 bench/botnet.py --duration "$DURATION" --rounds 2
echo
echo "== 1,000 slow connections from one address (slowloris heads, slow bodies, slow readers),"
echo "   a good client's success and p99 beside nginx and HAProxy (bench/slow_clients.py)"
python3 bench/slow_clients.py
echo
echo "== the response cache beside nginx proxy_cache: hit path CPU/request (goal <= 0.8x nginx),"
echo "   miss-path overhead against no gate (goal <= 1.05x), a 1,000-client stampede on an expiring"
echo "   hot key and a cold start (origin requests per expiry, non-2xx, p99)"
python3 bench/cache_vs_nginx.py --duration "$DURATION" --rounds "$ROUNDS"
echo
echo "== the WAF: in-process inspection time per request with OWASP CRS v4, rampart against"
echo "   libmodsecurity3 on the same requests, PL1 and PL2 (goal: >= 20x faster, median and p99)"
build/release/rampart_waf_bench --paranoia 1 --rounds 200
build/release/rampart_waf_bench --paranoia 2 --rounds 200
echo
echo "== the WAF end to end: rampart+CRS against nginx+ModSecurity+CRS (goal >= 20x req/s) and"
echo "   against rampart without it (goal: costs <= 30% of req/s), benign GET and JSON POST"
python3 bench/waf_vs_nginx.py --duration "$DURATION" --rounds "$ROUNDS" --scenario get
python3 bench/waf_vs_nginx.py --duration "$DURATION" --rounds "$ROUNDS" --scenario json
echo
echo "== micro benchmarks"
build/release/rampart_micro_bench --benchmark_min_time=0.2 --benchmark_filter=-BM_RedisDecisions
