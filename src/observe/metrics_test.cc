#include "observe/metrics.h"

#include <gtest/gtest.h>

namespace rampart::observe {
namespace {

TEST(Metrics, LabelValuesAreEscaped) {
  Metrics m(2);
  constexpr CounterDef<2> kDef{"test_total", "A test family.", {"route", "kind"}};
  CounterSeries* s = m.Counter(kDef, {"we\"ird\\na\nme", "x"});
  s->Add(0);
  s->Add(1, 2);
  EXPECT_EQ(m.Counter(kDef, {"we\"ird\\na\nme", "x"}), s);  // the same series again
  const std::string text = m.RenderPrometheus(0);
  EXPECT_NE(text.find("# HELP test_total A test family.\n"), std::string::npos);
  EXPECT_NE(text.find("test_total{route=\"we\\\"ird\\\\na\\nme\",kind=\"x\"} 3\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, LocalRepliesByDeclaredReason) {
  Metrics m(1);
  LocalReplyCounters c;
  c.Declare(m, "rate_limited");
  c.Declare(m, "no_route");
  c.Count(0, "rate_limited");
  c.Count(0, "rate_limited");
  c.Count(0, "something_undeclared");
  const std::string text = m.RenderPrometheus(0);
  EXPECT_NE(text.find("rampart_http_local_replies_total{reason=\"rate_limited\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("rampart_http_local_replies_total{reason=\"no_route\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("rampart_http_local_replies_total{reason=\"gate\"} 1\n"), std::string::npos);
}

}  // namespace
}  // namespace rampart::observe
