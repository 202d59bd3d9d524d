// In-process inspection time per request: rampart's WAF engine against libmodsecurity3 (Debian's
// package, linked only into this benchmark), both running the same OWASP CRS v4 files at the same
// paranoia level on the same requests, in the same run, interleaved. CPU time of this thread per
// request; the median and p99 of each, and their ratios.
//
//   rampart_waf_bench [--crs DIR] [--paranoia N] [--rounds N] [--only rampart|modsecurity]
//                     [--interleave round|request] [--warm on|off] [--stats on|off]
//                     [--flush MB] [--each on]
// (--each on: each request's medians too, to see which requests make the p99.)
// (--only runs one engine, for profiling; the ratios then mean nothing. --stats off leaves out
// the untimed pass that counts what the prefilter spared, so a profile holds only timed work.)
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "corpus.h"
#include "engines.h"

namespace {

using rampart::bench::BenchRequest;

double CpuMicros() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e6 + static_cast<double>(t.tv_nsec) / 1e3;
}

using Stats = rampart::bench::PrefilterStats;

// `stats`: where to add what the prefilter did (an untimed pass), with it on or off.
bool Blocked(const BenchRequest& r, const rampart::waf::RuleSet& set, bool explain = false,
             Stats* stats = nullptr, bool prefilter = true) {
  std::set<std::int64_t> ids;
  const bool blocked =
      rampart::bench::RunRampart(r, set, explain ? &ids : nullptr, stats, prefilter);
  if (explain && blocked) {
    printf("  rampart blocks %s %s:", r.method.c_str(), r.target.c_str());
    for (const std::int64_t id : ids) printf(" %lld", static_cast<long long>(id));
    printf("\n");
  }
  return blocked;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;  // the engine was left out (--only)
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  std::string crs = RAMPART_SOURCE_DIR "/rules/crs";
  int paranoia = 1, rounds = 200;
  std::string only;
  bool per_request = false, stats = true, warm = true, each = false;
  int flush_mb = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--crs")) crs = argv[i + 1];
    if (!strcmp(argv[i], "--paranoia")) paranoia = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--rounds")) rounds = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!strcmp(argv[i], "--interleave")) per_request = !strcmp(argv[i + 1], "request");
    if (!strcmp(argv[i], "--stats")) stats = strcmp(argv[i + 1], "off") != 0;
    if (!strcmp(argv[i], "--warm")) warm = strcmp(argv[i + 1], "off") != 0;
    if (!strcmp(argv[i], "--each")) each = !strcmp(argv[i + 1], "on");
    if (!strcmp(argv[i], "--flush")) flush_mb = atoi(argv[i + 1]);
  }
  std::string error;
  double t0 = CpuMicros();
  auto set = rampart::bench::LoadRampartCrs(crs, paranoia, error);
  if (!set) {
    fprintf(stderr, "rampart: %s\n", error.c_str());
    return 1;
  }
  const double rampart_load = CpuMicros() - t0;

  rampart::bench::ModSecurityEngine modsec;
  t0 = CpuMicros();
  if (!rampart::bench::LoadModSecurityCrs(crs, paranoia, modsec, error)) {
    fprintf(stderr, "libmodsecurity: %s\n", error.c_str());
    return 1;
  }
  const double modsec_load = CpuMicros() - t0;
  printf(
      "CRS load (CPU): rampart %.0f ms, libmodsecurity %.0f ms; paranoia %d, %d rounds, "
      "alternated per %s%s\n",
      rampart_load / 1000, modsec_load / 1000, paranoia, rounds, per_request ? "request" : "round",
      per_request || !warm ? "" : " (each round after an untimed request through its engine)");

  struct Corpus {
    const char* name;
    std::vector<BenchRequest> requests;
  } corpora[] = {{"benign", rampart::bench::BenignCorpus()},
                 {"attacks", rampart::bench::AttackCorpus()}};
  printf("%-8s %9s %9s %9s %9s %9s %9s  %s\n", "corpus", "r_median", "r_p99", "m_median", "m_p99",
         "median_x", "p99_x", "blocked r/m");
  for (auto& c : corpora) {
    std::vector<double> ours, theirs;
    // Per request of the corpus: its times through each engine (--each).
    std::vector<std::vector<double>> ours_each(c.requests.size()), theirs_each(c.requests.size());
    int blocked_ours = 0, blocked_theirs = 0;
    std::vector<unsigned char> junk(static_cast<std::size_t>(flush_mb) << 20);
    auto run = [&](const BenchRequest& r, bool mine, bool first) {
      if (!junk.empty()) {
        // Untimed: evict what the previous request left in the caches.
        for (std::size_t i = 0; i < junk.size(); i += 64)
          junk[i] = static_cast<unsigned char>(junk[i] + 1);
      }
      const double a = CpuMicros();
      const bool blocked =
          mine ? Blocked(r, *set, first) : rampart::bench::RunModSecurity(r, modsec);
      const double took = CpuMicros() - a;
      (mine ? ours : theirs).push_back(took);
      const auto at = static_cast<std::size_t>(&r - c.requests.data());
      (mine ? ours_each : theirs_each)[at].push_back(took);
      if (first) (mine ? blocked_ours : blocked_theirs) += blocked;
    };
    const bool with_ours = only != "modsecurity", with_theirs = only != "rampart";
    for (int round = 0; round < rounds; ++round) {
      // Alternated, so that drift on a shared machine affects both alike: by default a round of
      // the corpus through one engine, then through the other (each meets the caches its own
      // previous request left, as in a server that runs only it); with `--interleave request`,
      // every request through both in turn (each then starts with caches the other filled).
      if (per_request) {
        for (const auto& r : c.requests) {
          if (with_ours) run(r, true, round == 0);
          if (with_theirs) run(r, false, round == 0);
        }
        continue;
      }
      // A round's first request would otherwise meet the caches the other engine's round left
      // (the cold case is what --flush measures): each engine first takes the corpus's last
      // request again, untimed, as its previous request in a server running only it.
      const BenchRequest& last = c.requests.back();
      if (with_ours) {
        if (warm && round > 0) Blocked(last, *set, false);
        for (const auto& r : c.requests) run(r, true, round == 0);
      }
      if (with_theirs) {
        if (warm && round > 0) rampart::bench::RunModSecurity(last, modsec);
        for (const auto& r : c.requests) run(r, false, round == 0);
      }
    }
    if (with_ours && stats) {
      // Untimed: what the prefilter spared on this corpus (README, "How it stays fast").
      Stats on, off;
      for (const auto& r : c.requests) {
        Blocked(r, *set, false, &on, true);
        Blocked(r, *set, false, &off, false);
      }
      printf(
          "%-8s prefilter: %u of %u grouped rules ruled out by their group, %u of %u values "
          "before the operator; regex calls %u (%u without it); %u of %u parts were their "
          "target's union\n",
          c.name, on.groups_ruled_out, on.groups_asked, on.values_ruled_out, on.values_asked,
          on.regex_runs, off.regex_runs, on.parts_as_target, on.parts_joined);
    }
    const double rm = Percentile(ours, 0.5), r99 = Percentile(ours, 0.99);
    const double mm = Percentile(theirs, 0.5), m99 = Percentile(theirs, 0.99);
    printf("%-8s %8.1fus %8.1fus %8.1fus %8.1fus %8.1fx %8.1fx  %d/%d of %zu\n", c.name, rm, r99,
           mm, m99, mm / rm, m99 / r99, blocked_ours, blocked_theirs, c.requests.size());
    for (std::size_t i = 0; each && i < c.requests.size(); ++i) {
      const double o = Percentile(ours_each[i], 0.5), t = Percentile(theirs_each[i], 0.5);
      printf("  %8.1fus %8.1fus %6.1fx  %s %.60s\n", o, t, o > 0 ? t / o : 0.0,
             c.requests[i].method.c_str(), c.requests[i].target.c_str());
    }
  }
  return 0;
}
