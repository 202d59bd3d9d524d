#include "gates/waf/literal_prefilter.h"

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include <gtest/gtest.h>
#include <pcre2.h>
#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "gates/waf/ruleset.h"
#include "gates/waf/seclang_reader.h"
#include "gates/waf/transaction.h"
#include "gates/waf/transform.h"

#ifndef RAMPART_SOURCE_DIR
#define RAMPART_SOURCE_DIR "."
#endif

namespace rampart::waf {
namespace {

std::vector<std::string> Required(std::string_view pattern) {
  auto r = RequiredLiterals(pattern);
  return r ? *r : std::vector<std::string>{"<none>"};
}

using V = std::vector<std::string>;

TEST(RequiredLiterals, LiteralsAreFoldedAndTheStrongestPieceStandsForTheSequence) {
  EXPECT_EQ(Required("(?i)union\\s+select"), V{"select"});
  EXPECT_EQ(Required("Content-Type"), V{"content-type"});
  EXPECT_EQ(Required("<script\\b[^>]*>"), V{"<script"});
  EXPECT_EQ(Required("a\\.b\\x41\\x{42}\\Q*+\\E"), V{"a.bab*+"});
}

TEST(RequiredLiterals, AlternationsGiveOneLiteralPerBranch) {
  EXPECT_EQ(Required("(?:onload|onerror)\\s*="), (V{"onerror", "onload"}));
  EXPECT_EQ(Required("https?://"), (V{"http://", "https://"}));
  EXPECT_EQ(Required("[Jj]ava[Ss]cript:"), V{"javascript:"});
  EXPECT_EQ(Required("(?:select|sel)ect"), V{"select"});
}

TEST(RequiredLiterals, RepetitionKeepsOneCopyAndOptionalPiecesAddNothing) {
  EXPECT_EQ(Required("(?:abc)+"), V{"abc"});
  EXPECT_EQ(Required("x{2,5}yz"), V{"xxyz"});  // the others hold "xxyz"
  EXPECT_EQ(Required("x{2,}yz"), V{"xx"});
  EXPECT_EQ(Required("(?:^|[/;\\x5c])\\.{2,3}[/;\\x5c]"), (V{"../", "..;", "..\\"}));
  EXPECT_EQ(Required("(?:abc)*d"), V{"d"});  // one byte is still worth testing
  EXPECT_EQ(Required("(?:abc)?defg"), V{"defg"});
}

TEST(RequiredLiterals, ZeroWidthPiecesConsumeNothing) {
  EXPECT_EQ(Required("^(?=abc)\\bxyz$"), V{"xyz"});
  EXPECT_EQ(Required("(?<!a)(?<=b)foo(?#comment)bar"), V{"foobar"});
  EXPECT_EQ(Required("(?<name>foo)(?i:bar)"), V{"foobar"});
}

TEST(RequiredLiterals, PatternsThatCanMatchWithoutLiteralsGiveNone) {
  for (const char* p : {".*", "\\w+", "[a-z]+", "foo|\\w+", "(?:foo)?", "", "a|", "[^x]z?"}) {
    EXPECT_FALSE(RequiredLiterals(p).has_value()) << p;
  }
}

TEST(RequiredLiterals, SyntaxItDoesNotFollowMakesItGiveUp) {
  for (const char* p : {"(?x) a b c", "(*UTF)abc", "abc\\k<n>", "\\cAabc", "abc\\0", "(abc", "[abc",
                        "abc)", "a**", "(?P=n)abc", "[\\Qab\\E]cd", "\\o{101}bcd"}) {
    EXPECT_FALSE(RequiredLiterals(p).has_value()) << p;
  }
}

TEST(RequiredLiterals, DeepNestingIsRefusedNotRecursedInto) {
  EXPECT_EQ(Required(std::string(40, '(') + "abc" + std::string(40, ')')), V{"abc"});
  EXPECT_FALSE(RequiredLiterals(std::string(100000, '(') + "abc").has_value());
  EXPECT_FALSE(RequiredLiterals(std::string(200, '(') + "abc" + std::string(200, ')')));
}

TEST(RequiredLiterals, ClassesFoldToAFewBytesOrToNothing) {
  EXPECT_EQ(Required("[aA][bB]cd"), V{"abcd"});
  EXPECT_EQ(Required("ab[cd]ef"), (V{"abcef", "abdef"}));
  EXPECT_EQ(Required("ab[c-z]efg"), V{"efg"});
  EXPECT_EQ(Required("ab[]x]cd"), (V{"ab]cd", "abxcd"}));
  EXPECT_EQ(Required("ab[\\]\\-]cd"), (V{"ab-cd", "ab]cd"}));
  EXPECT_EQ(Required("ab[^c]def"), V{"def"});
}

// Whether PCRE2, compiled as @rx compiles (DOTALL | MULTILINE), finds `pattern` in `subject`.
bool PcreMatches(std::string_view pattern, std::string_view subject) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_DOTALL | PCRE2_MULTILINE, &error, &offset, nullptr);
  if (code == nullptr) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  const int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                             0, md, nullptr);
  pcre2_match_data_free(md);
  pcre2_code_free(code);
  return rc >= 0;
}

// Items PCRE2 reads differently from how they look: a quantifier after \Q...\E, \E or a
// comment applies to the last character (or to what came before), "[:" without a POSIX name is
// a '[', and {0000000} is {0}. The prefilter must admit every subject PCRE2 matches.
TEST(RequiredLiterals, ItemsPcreReadsOddlyAreNeverRuledOutWrongly) {
  const std::pair<const char*, const char*> cases[] = {
      {"ab\\Q\\E?c", "ac"},   {"x\\Qab\\E?y", "xay"}, {"ab\\E?c", "ac"},
      {"a(?#x)?b", "b"},      {"[[:]|q:]]abc", "["},  {"ab{0000000}c", "ac"},
      {"ab\\Q\\E{0}c", "ac"}, {"(?:ab\\E)?cd", "cd"}, {"ab{,2}c", "ab{,2}c"},
  };
  for (const auto& [pattern, subject] : cases) {
    ASSERT_TRUE(PcreMatches(pattern, subject)) << pattern;
    const auto f = LiteralPrefilter::For(pattern);
    if (f) {
      EXPECT_TRUE(f->MayMatch(Signature::Of(subject))) << pattern << " on " << subject;
    }
  }
}

// \d, \s, \h and \v stand for the bytes PCRE2 itself matches with them, alone or in a class.
TEST(RequiredLiterals, TypeEscapesAreTheBytesPcreMatches) {
  for (const char* type : {"\\d", "\\s", "\\h", "\\v"}) {
    for (const std::string& pattern : {std::string("=") + type, "=[" + std::string(type) + "]"}) {
      const auto literals = RequiredLiterals(pattern);
      ASSERT_TRUE(literals.has_value()) << pattern;
      const std::set<std::string> set(literals->begin(), literals->end());
      for (int b = 0; b < 256; ++b) {
        const std::string subject = "=" + std::string(1, static_cast<char>(b));
        EXPECT_EQ(PcreMatches(pattern, subject), set.count(subject) == 1)
            << pattern << " on byte " << b;
      }
    }
  }
}

// A lone letter is in nearly every value: a noise-tolerant command pattern is filtered by the
// separator that must follow the command, and a literal set is weighed after "\\|" is dropped
// for "|" (which says the same).
TEST(RequiredLiterals, SeparatorsOutweighALoneLetter) {
  // A digit is required by \\d+, weak as one digit is.
  EXPECT_EQ(Required("\\d+"), (V{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}));
  EXPECT_EQ(Required("r[\"']*[\\s&]"), (V{"\t", "\n", "\v", "\f", "\r", " ", "&"}));
  EXPECT_EQ(Required("(?i)c[\"']*a[\"']*t[\\s&|]"),
            (V{"t\t", "t\n", "t\v", "t\f", "t\r", "t ", "t&", "t|"}));
  EXPECT_EQ(Required("a\\x5c?[|&]"), (V{"a&", "a\\&", "a\\|", "a|"}));
}

TEST(Signature, CoversWhatTheTextHolds) {
  const auto text = Signature::Of("GET /Index.PHP?id=1 UNION SELECT");
  EXPECT_TRUE(text.Covers(Signature::Of("union select")));
  EXPECT_TRUE(text.Covers(Signature::Of("index.php")));
  EXPECT_FALSE(text.Covers(Signature::Of("<script")));
  const auto f = LiteralPrefilter::For("(?i)<script|javascript:");
  ASSERT_TRUE(f.has_value());
  EXPECT_FALSE(f->MayMatch(text));
  EXPECT_TRUE(f->MayMatch(Signature::Of("x=<SCRIPT>alert(1)")));
}

// Strings the CRS regression tests send: every scalar of their YAML, URL-decoded too, and the
// pieces of query strings and bodies.
void CollectScalars(const YAML::Node& n, std::set<std::string>& out) {
  if (n.IsScalar()) {
    out.insert(n.Scalar());
  } else if (n.IsSequence() || n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (n.IsMap()) {
        CollectScalars(it->first, out);
        CollectScalars(it->second, out);
      } else {
        CollectScalars(*it, out);
      }
    }
  }
}

std::vector<std::string> Payloads(const std::string& dir) {
  std::set<std::string> scalars;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    CollectScalars(YAML::LoadFile(e.path().string()), scalars);
  }
  std::set<std::string> out;
  std::string decoded;
  for (const auto& s : scalars) {
    out.insert(s);
    ApplyTransform(TransformId::kUrlDecodeUni, s, decoded);
    out.insert(decoded);
    for (const std::string& whole : {s, decoded}) {
      std::size_t from = 0;
      while (from <= whole.size()) {
        std::size_t to = whole.find_first_of("&=?;", from);
        if (to == std::string::npos) to = whole.size();
        out.insert(whole.substr(from, to - from));
        from = to + 1;
      }
    }
  }
  return {out.begin(), out.end()};
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_') {
      out.push_back(ch);
    } else {
      out.append({'%', kHex[c >> 4], kHex[c & 15]});
    }
  }
  return out;
}

std::shared_ptr<const RuleSet> LoadCrs(int paranoia) {
  std::vector<Directive> ds;
  std::string error;
  const std::string crs = std::string(RAMPART_SOURCE_DIR) + "/rules/crs";
  const std::string setup =
      "SecRuleEngine On\nSecRequestBodyAccess On\n"
      "SecAction \"id:899100,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level=" +
      std::to_string(paranoia) + "\"\n";
  EXPECT_TRUE(ReadSecLangText(setup, "<setup>", ds, error)) << error;
  EXPECT_TRUE(ReadSecLangFiles(crs + "/crs-setup.conf.example", ds, error)) << error;
  EXPECT_TRUE(ReadSecLangFiles(crs + "/rules/*.conf", ds, error)) << error;
  auto set = RuleSet::Build(ds, error);
  EXPECT_TRUE(set) << error;
  return set;
}

// The rules that matched a request carrying `payload` in the query, a cookie, the User-Agent
// and a form body, every phase run (detection only).
std::vector<std::int64_t> Outcome(const RuleSet& set, const std::string& payload, bool prefilter) {
  Transaction tx(set);
  tx.ForceDetectionOnly();
  tx.UsePrefilter(prefilter);
  const std::string target = "/search?q=" + UrlEncode(payload) + "&page=2";
  const std::string cookie = "session=abc123; pref=" + UrlEncode(payload);
  RequestInfo r;
  r.method = "POST";
  r.target = target;
  r.protocol = "HTTP/1.1";
  r.headers = {{"Host", "localhost"},
               {"User-Agent", payload},
               {"Cookie", cookie},
               {"Content-Type", "application/x-www-form-urlencoded"}};
  r.client_addr = "192.0.2.1";
  tx.SetRequest(r);
  tx.RunPhase(1);
  const std::string body = "comment=" + UrlEncode(payload);
  tx.SetRequestBody(body, true, "application/x-www-form-urlencoded");
  tx.RunPhase(2);
  std::vector<std::int64_t> ids;
  for (const auto& m : tx.matches()) ids.push_back(m.id);
  return ids;
}

// The same rules match with the prefilter as without it, at paranoia level 4 (every rule), on
// every CRS regression payload: the per-value test and the group unions never rule out a match.
TEST(LiteralPrefilter, AnswersAsIfEveryOperatorRan) {
  auto set = LoadCrs(4);
  ASSERT_TRUE(set);
  const char* all = std::getenv("RAMPART_CRS_TESTS");
  const auto payloads = Payloads(all != nullptr ? all : RAMPART_SOURCE_DIR "/tests/crs/subset");
  std::size_t matched = 0;
  for (const auto& p : payloads) {
    const auto with = Outcome(*set, p, true);
    const auto without = Outcome(*set, p, false);
    ASSERT_EQ(with, without) << "payload: " << p;
    matched += with.size();
  }
  EXPECT_GT(matched, payloads.size());  // the payloads do trigger rules
}

// The prefilter does its job: on an ordinary browser GET through CRS at paranoia 1, most rules
// it groups are ruled out by their group's union, and PCRE2 runs far fewer times than without
// it (README: about 9 in 10 grouped rules, about 1 regex call in 8).
TEST(LiteralPrefilter, RulesOutMostRulesOfAnOrdinaryRequest) {
  auto set = LoadCrs(1);
  ASSERT_TRUE(set);
  auto run = [&](bool prefilter) {
    Transaction tx(*set);
    tx.UsePrefilter(prefilter);
    RequestInfo r;
    r.method = "GET";
    r.target = "/products?category=shirts&page=2";
    r.protocol = "HTTP/1.1";
    r.headers = {{"Host", "shop.example.com"},
                 {"User-Agent", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"},
                 {"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"},
                 {"Accept-Language", "en-US,en;q=0.9"},
                 {"Cookie", "session=8f3a9c2e7b1d4f6a; cart=3; theme=dark"}};
    r.client_addr = "192.0.2.1";
    tx.SetRequest(r);
    EXPECT_FALSE(tx.RunPhase(1).intercepted);
    tx.SetRequestBody({}, true, {});
    EXPECT_FALSE(tx.RunPhase(2).intercepted);
    return tx.prefilter_stats();
  };
  const auto on = run(true), off = run(false);
  EXPECT_EQ(off.groups_asked, 0u);  // off, nothing is ruled out
  EXPECT_GT(on.groups_asked, 50u);
  EXPECT_GT(on.groups_ruled_out * 10, on.groups_asked * 8)
      << on.groups_ruled_out << " of " << on.groups_asked;
  EXPECT_LT(on.regex_runs * 4, off.regex_runs) << on.regex_runs << " vs " << off.regex_runs;
  // Most parts are their target's union of values as they are, without a walk of their own
  // (README, "How it stays fast", per target).
  EXPECT_GT(on.parts_joined, 20u);
  EXPECT_GT(on.parts_as_target * 10, on.parts_joined * 7)
      << on.parts_as_target << " of " << on.parts_joined;
}

void ForEachRule(const RuleSet& set, const std::function<void(const Rule&)>& f) {
  for (int p = 1; p <= 5; ++p) {
    for (const auto& r : set.Phase(p)) {
      for (const Rule* x = r; x != nullptr; x = x->chained.get()) f(*x);
    }
  }
}

// The prefilter is sound: whenever a CRS v4 pattern or phrase list matches a value after its
// rule's transformations, the value's signature admits one of its literals. The payloads are
// the CRS regression tests shipped in tests/crs/subset (or all of them, from the directory in
// RAMPART_CRS_TESTS) and the detectors' corpora.
TEST(LiteralPrefilter, NeverRulesOutAValueACrsPatternMatches) {
  auto set = LoadCrs(1);  // every rule loads at any level
  ASSERT_TRUE(set);

  const char* all = std::getenv("RAMPART_CRS_TESTS");
  auto payloads = Payloads(all != nullptr ? all : RAMPART_SOURCE_DIR "/tests/crs/subset");
  for (const char* f : {"sqli_attacks.txt", "xss_attacks.txt", "sqli_benign.txt"}) {
    std::ifstream in(std::string(RAMPART_SOURCE_DIR) + "/src/gates/waf/corpus/" + f);
    for (std::string line; std::getline(in, line);) payloads.push_back(line);
  }
  ASSERT_GT(payloads.size(), 1000u);

  int with_prefilter = 0, rx = 0;
  long checked = 0;
  std::string a, b;
  ForEachRule(*set, [&](const Rule& r) {
    if (r.regex_op && !r.op_has_macros) ++rx;
    if (!r.prefilter) return;
    ++with_prefilter;
    for (const auto& p : payloads) {
      a = p;
      for (TransformId t : r.effective_transforms) {
        ApplyTransform(t, a, b);
        a.swap(b);
      }
      if (!r.op->Match(a, {}, nullptr)) continue;
      ++checked;
      EXPECT_TRUE(r.prefilter->MayMatch(Signature::Of(a)))
          << "rule " << r.act.id << " matches a value its prefilter rules out: " << a;
    }
  });
  // Most CRS patterns have literals to test; the figures guard against a silent regression.
  EXPECT_GT(with_prefilter, rx / 2) << with_prefilter << " of " << rx;
  EXPECT_GT(checked, 1000);
}

}  // namespace
}  // namespace rampart::waf
