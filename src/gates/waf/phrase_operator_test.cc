// @pm and @pmFromFile.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/strings.h"
#include "gates/waf/operator.h"
#include "gates/waf/operator_phrase_set.h"

namespace rampart::waf {
namespace {

using namespace std::string_literals;

const OperatorEnv& TestEnv() {
  static const OperatorEnv env{std::string(RAMPART_SOURCE_DIR) + "/src/gates/waf/testdata"};
  return env;
}

std::unique_ptr<Operator> Make(std::string_view name, std::string_view param) {
  std::string error;
  auto op = MakeOperator(name, param, TestEnv(), &error);
  EXPECT_NE(op, nullptr) << "@" << name << " " << param << ": " << error;
  return op;
}

bool M(const Operator& op, std::string_view value, std::string_view runtime = {}) {
  return op.Match(value, runtime, nullptr);
}

// TX.0 after a match, or "<no match>".
std::string Tx0(const Operator& op, std::string_view value, std::string_view runtime = {}) {
  CaptureSet captures;
  if (!op.Match(value, runtime, &captures)) return "<no match>";
  EXPECT_EQ(captures.count, 1);
  return captures.groups[0];
}

TEST(PmTest, AnyPhraseAnywhereCaseInsensitive) {
  auto op = Make("pm", "wget curl libwww-perl");
  EXPECT_TRUE(M(*op, "Wget/1.21"));
  EXPECT_TRUE(M(*op, "xx CURL/8.0"));
  EXPECT_TRUE(M(*op, "LibWWW-Perl/6"));
  EXPECT_FALSE(M(*op, "Mozilla/5.0"));
  EXPECT_FALSE(M(*op, "wge"));
  EXPECT_FALSE(M(*op, ""));
}

TEST(PmTest, CaptureIsThePhraseAsWritten) {
  auto op = Make("pm", "Select UNION");
  EXPECT_EQ(Tx0(*op, "1 union select 2"), "UNION");
  EXPECT_EQ(Tx0(*op, "sElEcT"), "Select");
  EXPECT_EQ(Tx0(*op, "nothing"), "<no match>");
}

TEST(PmTest, ThePhraseEndingFirstIsChosenThenTheLongest) {
  // v3's automaton stops where the first phrase ends; of phrases ending there, at the longest.
  auto op = Make("pm", "bcde abc zzzzabc bc");
  EXPECT_EQ(Tx0(*op, "xabcde"), "abc");  // "bc" and "abc" end at 4: the longest
  EXPECT_EQ(Tx0(*op, "zzzzabcde"), "zzzzabc");
  EXPECT_EQ(Tx0(*op, "bcde"), "bc");
  auto order = Make("pm", "later first");
  EXPECT_EQ(Tx0(*order, "first later"), "first");
  EXPECT_EQ(Tx0(*order, "later first"), "later");
}

TEST(PmTest, FindsPhrasesV3sAutomatonMisses) {
  // v3's acmp follows "__p" towards "__pycache__/" and then misses "pm2.log"; we do not.
  auto op = Make("pm", "__pycache__/ pm2.log");
  EXPECT_EQ(Tx0(*op, "__pm2.log"), "pm2.log");
  EXPECT_EQ(Tx0(*op, "x/__pycache__/y"), "__pycache__/");
}

TEST(PmTest, DuplicatesButForCaseKeepTheFirstSpelling) {
  auto op = Make("pm", "Passwd PASSWD passwd");
  EXPECT_EQ(Tx0(*op, "/etc/passwd"), "Passwd");
}

TEST(PmTest, ParameterSyntaxAsV3ParsesIt) {
  // Surrounding double quotes are dropped.
  EXPECT_EQ(Tx0(*Make("pm", "\"foo bar\""), "xbar"), "bar");
  // |hex| bytes, including bytes no rule file could hold literally.
  EXPECT_EQ(Tx0(*Make("pm", "|41 42|"), "zab"), "<no match>");  // a space inside hex: as written
  EXPECT_EQ(Tx0(*Make("pm", "|4142|c"), "zabcz"), "ABc");
  EXPECT_TRUE(M(*Make("pm", "a|00|b"), "xa\0bx"s));
  EXPECT_FALSE(M(*Make("pm", "a|00|b"), "xabx"));
  // Escapes \: \; \\ \" ; any other escape leaves the parameter as written.
  EXPECT_EQ(Tx0(*Make("pm", "a\\;b"), "a;b"), "a;b");
  EXPECT_EQ(Tx0(*Make("pm", "a\\\"b"), "a\"b"), "a\"b");
  EXPECT_EQ(Tx0(*Make("pm", "a\\nb"), "a\\nb"), "a\\nb");
  // A bad hex digit: the parameter as written, '|' and all.
  EXPECT_EQ(Tx0(*Make("pm", "|zz|"), "a|zz|b"), "|zz|");
}

TEST(PmTest, AttackerInputs) {
  auto op = Make("pm", "<script javascript: onerror");
  EXPECT_TRUE(M(*op, "\0\0<SCRIPT>"s));
  EXPECT_TRUE(M(*op, "\xff\xfe javascript:alert(1)"));
  const std::string huge = std::string(16 << 20, 'a') + "OnError=";
  EXPECT_EQ(Tx0(*op, huge), "onerror");
  EXPECT_FALSE(M(*op, std::string(16 << 20, 'a')));
  EXPECT_FALSE(M(*op, "<scrip t>"));
}

TEST(PmTest, EmptyParameterNeverMatches) {
  EXPECT_FALSE(M(*Make("pm", ""), "anything"));
  EXPECT_FALSE(M(*Make("pm", "   "), ""));
}

TEST(PmTest, MacroParametersBuildAtRunTime) {
  auto op = Make("pm", "%{tx.bad_words}");
  EXPECT_EQ(Tx0(*op, "some Foo here", "foo bar"), "foo");
  EXPECT_FALSE(M(*op, "some foo here", "bar baz"));
  EXPECT_FALSE(M(*op, "tx.bad_words", "bar baz"));
  EXPECT_FALSE(M(*op, "anything", ""));
  for (int i = 0; i < 50; ++i) {
    const std::string w = "w" + std::to_string(i);
    EXPECT_TRUE(M(*op, "x" + w + "x", w + " other"));
  }
}

TEST(PmTest, ThreadsShareOneOperator) {
  auto op = Make("pm", "alpha beta gamma delta");
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      CaptureSet captures;
      for (int i = 0; i < 2000; ++i) {
        if (!op->Match("xx GAMMA yy", {}, &captures) || captures.groups[0] != "gamma") ++failures;
        if (op->Match("nothing here", {}, nullptr)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(PmTest, OperatorsBuiltAfterAThreadStartedStillWorkOnIt) {
  // The thread's scratch space predates the second database and must grow for it.
  auto first = Make("pm", "one");
  std::unique_ptr<Operator> second;
  std::atomic<int> stage{0};
  bool ok_first = false, ok_second = false;
  std::thread worker([&] {
    ok_first = M(*first, "xoney");
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
    ok_second = M(*second, "a much longer phrase than before here") && M(*first, "one");
  });
  while (stage.load() != 1) std::this_thread::yield();
  second = Make("pm", "much longer phrase than before");
  stage = 2;
  worker.join();
  EXPECT_TRUE(ok_first);
  EXPECT_TRUE(ok_second);
}

TEST(PmFromFileTest, ReadsPhrasesSkippingCommentsAndBlankLines) {
  auto op = Make("pmFromFile", "lfi-sample.data");
  EXPECT_EQ(Tx0(*op, "/../../ETC/PASSWD"), "etc/passwd");
  EXPECT_EQ(Tx0(*op, "/.htaccess"), ".htaccess");
  EXPECT_TRUE(M(*op, "c:\\windows/win.ini"));
  EXPECT_FALSE(M(*op, "/etc/hosts"));
  EXPECT_FALSE(M(*op, "one per line"));  // comment text is not a phrase
  EXPECT_FALSE(M(*op, "#"));
  // The alias.
  EXPECT_TRUE(M(*Make("pmf", "lfi-sample.data"), "boot.ini"));
}

TEST(PmFromFileTest, LinesAreTakenAsWrittenLikeV3) {
  auto op = Make("pmFromFile", "pm-quirks.data");
  // A leading space is part of the phrase (CRS sql-errors.data relies on it).
  EXPECT_TRUE(M(*op, "error in query expression"));
  EXPECT_FALSE(M(*op, "error,in query expression"));
  // '#' after other text is not a comment.
  EXPECT_EQ(Tx0(*op, "breakpoint exists at #3"), "Breakpoint exists at #");
  // An indented '#' line is a comment.
  EXPECT_FALSE(M(*op, "an indented comment line"));
  // Trailing spaces are kept too.
  EXPECT_TRUE(M(*op, "tail-space x"));
  EXPECT_FALSE(M(*op, "tail-spacex"));
  // The first of two spellings is reported.
  EXPECT_EQ(Tx0(*op, "1 union select 2"), "UNION SELECT");
  // A line of only spaces is not a phrase (v3 would make it one).
  EXPECT_FALSE(M(*op, "a    b"));
}

TEST(PmFromFileTest, CrlfFilesDoNotKeepTheCarriageReturn) {
  auto op = Make("pmFromFile", "pm-crlf.data");
  EXPECT_EQ(Tx0(*op, "the crlf-phrase!"), "crlf-phrase");
  EXPECT_TRUE(M(*op, "SECOND-CRLF"));
}

TEST(PmFromFileTest, SeveralFilesAndAbsolutePaths) {
  auto op = Make("pmFromFile", "lfi-sample.data pm-more.data");
  EXPECT_TRUE(M(*op, "/etc/shadow"));
  EXPECT_TRUE(M(*op, "/wp-config.php.bak"));
  auto abs = Make("pmFromFile", TestEnv().rules_dir + "/pm-more.data");
  EXPECT_TRUE(M(*abs, "WP-CONFIG.PHP"));
}

TEST(PmFromFileTest, MissingFilesAreErrors) {
  std::string error;
  EXPECT_EQ(MakeOperator("pmFromFile", "no-such.data", TestEnv(), &error), nullptr);
  EXPECT_EQ(error, "@pmFromFile: cannot read no-such.data: No such file or directory");
  EXPECT_EQ(MakeOperator("pmFromFile", "lfi-sample.data missing.data", TestEnv(), &error), nullptr);
  EXPECT_EQ(error, "@pmFromFile: cannot read missing.data: No such file or directory");
  EXPECT_EQ(MakeOperator("pmf", ".", TestEnv(), &error), nullptr);
  EXPECT_EQ(error, "@pmf: cannot read .: not a regular file");
  EXPECT_EQ(MakeOperator("pmFromFile", "", TestEnv(), &error), nullptr);
  EXPECT_EQ(MakeOperator("pmFromFile", "https://example.com/list.data", TestEnv(), &error),
            nullptr);
}

}  // namespace
}  // namespace rampart::waf

namespace rampart::waf {
namespace {

using op_internal::PhraseSet;

std::unique_ptr<PhraseSet> BuildSet(const std::vector<std::string>& phrases) {
  std::vector<std::string_view> views(phrases.begin(), phrases.end());
  std::string error;
  auto set = PhraseSet::Build(views, true, &error);
  EXPECT_NE(set, nullptr) << error;
  return set;
}

// Debian 12's Vectorscan misses some matches in the last 64 bytes of what it scans on AVX-512
// machines, depending on the buffer's address (operator_phrase_set.cc): this set and value
// were one such miss before values were scanned with padding.
TEST(PhraseSetTest, FindsAPhraseAfterAnyRunOfBytesAtAnyAddress) {
  const auto set = BuildSet({"$GLOBALS", "$_COOKIE", "$_ENV", "$_FILES", "$_GET", "$_POST"});
  ASSERT_NE(set, nullptr);
  alignas(64) static char buffer[512];
  for (std::size_t n = 0; n < 300; ++n) {
    for (std::size_t offset = 0; offset < 64; offset += 7) {
      std::fill(buffer + offset, buffer + offset + n, 'x');
      std::copy_n("$_post", 6, buffer + offset + n);
      const std::string_view value(buffer + offset, n + 6);
      ASSERT_EQ(set->Find(value, true), 5) << n << " bytes before, at offset " << offset;
      ASSERT_EQ(set->Find(value, false), 5) << n << " bytes before, at offset " << offset;
      // A phrase cut short by the value's end is no match, whatever follows it in memory.
      ASSERT_EQ(set->Find(value.substr(0, value.size() - 1), false), -1) << n;
    }
  }
}

// Every phrase list CRS ships, against a plain case-insensitive search, on values made of the
// bytes attacks use with a phrase put somewhere in half of them.
TEST(PhraseSetTest, EveryCrsListAgreesWithAPlainSearch) {
  const std::filesystem::path dir = std::filesystem::path(RAMPART_SOURCE_DIR) / "rules/crs/rules";
  std::mt19937 rng(17);
  constexpr std::string_view kBytes =
      "xyz $_/.-;:'\"<>()ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop0123";
  std::size_t lists = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".data") continue;
    std::vector<std::string> phrases;
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && line[0] != '#') phrases.push_back(line);
    }
    const auto set = BuildSet(phrases);
    ASSERT_NE(set, nullptr);
    std::vector<std::string> folded;
    for (const auto& p : phrases) folded.push_back(ToLower(p));
    ++lists;
    for (int i = 0; i < 1500; ++i) {
      std::string value(rng() % 300, ' ');
      for (char& c : value) c = kBytes[rng() % kBytes.size()];
      if (rng() % 2 == 0) value.insert(rng() % (value.size() + 1), phrases[rng() % phrases.size()]);
      const std::string lower = ToLower(value);
      const bool expected = std::any_of(folded.begin(), folded.end(), [&](const std::string& p) {
        return lower.find(p) != std::string::npos;
      });
      ASSERT_EQ(set->Find(value, false) >= 0, expected) << entry.path().filename() << ": " << value;
    }
  }
  EXPECT_GE(lists, 20u);
}

}  // namespace
}  // namespace rampart::waf
