// The two WAF engines the benchmarks and the differential test compare: rampart's and
// libmodsecurity3 (Debian's package, linked only into these tools), each loaded with the same
// OWASP CRS files at the same paranoia level, each given a request the same way.
#pragma once

#include <modsecurity/modsecurity.h>
#include <modsecurity/rules_set.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "corpus.h"
#include "gates/waf/ruleset.h"
#include "gates/waf/transaction.h"

namespace rampart::bench {

// What both engines load before CRS: the engine on, bodies inspected, the paranoia level.
std::string WafSetup(int paranoia);

// CRS (crs-setup.conf.example and rules/*.conf under `crs`) for rampart; null with `error`.
std::shared_ptr<const waf::RuleSet> LoadRampartCrs(const std::string& crs, int paranoia,
                                                   std::string& error);

// The same for libmodsecurity3, with its recommended configuration's two rules that turn on the
// JSON and XML body processors (rampart picks the processor by Content-Type itself). Matched
// rules are collected through the server log callback: see RunModSecurity.
struct ModSecurityEngine {
  modsecurity::ModSecurity* ms = nullptr;
  modsecurity::RulesSet* rules = nullptr;
  ~ModSecurityEngine();
};
bool LoadModSecurityCrs(const std::string& crs, int paranoia, ModSecurityEngine& out,
                        std::string& error);

// Phases 1 and 2 of `r`; whether the request was blocked. `ids`, when given, receives the ids of
// the rules that logged a match (the anomaly evaluation rules 949110, 959100 and 980xxx left
// out: libmodsecurity3 does not log 949110 through its callback).
using PrefilterStats = waf::Transaction::PrefilterStats;
bool RunRampart(const BenchRequest& r, const waf::RuleSet& set, std::set<std::int64_t>* ids,
                PrefilterStats* stats = nullptr, bool prefilter = true);
bool RunModSecurity(const BenchRequest& r, ModSecurityEngine& e,
                    std::set<std::int64_t>* ids = nullptr);

}  // namespace rampart::bench
