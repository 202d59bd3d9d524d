#include "gates/waf/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::waf {
namespace {

using Args = std::vector<Arg>;

Args Parse(std::string_view body, int max_depth = kJsonDefaultMaxDepth) {
  Args out;
  std::string error;
  EXPECT_TRUE(ParseJsonBody(body, out, &error, max_depth)) << error << " for: " << body;
  return out;
}

std::string Error(std::string_view body, const JsonLimits& limits = {}) {
  Args out;
  std::string error;
  EXPECT_FALSE(ParseJsonBody(body, out, &error, limits)) << "accepted: " << body;
  EXPECT_FALSE(error.empty());
  return error;
}

// The v3 regression tests (test/test-cases/regression/request-body-parser-json.json).
TEST(JsonBodyTest, V3RegressionNames) {
  EXPECT_EQ(Parse(R"({       "foo":"bar",       "mod":"sec"})"),
            (Args{{"json.foo", "bar"}, {"json.mod", "sec"}}));
  EXPECT_EQ(Parse(R"({"first_level":{       "first_key":"bar",       "second_key":"sec"}})"),
            (Args{{"json.first_level.first_key", "bar"}, {"json.first_level.second_key", "sec"}}));
}

TEST(JsonBodyTest, ArrayNaming) {
  EXPECT_EQ(Parse(R"({"a":[1,[2,3],{"c":4},"x"],"b":true})"), (Args{{"json.a.array_0", "1"},
                                                                    {"json.a.array_1.array_0", "2"},
                                                                    {"json.a.array_1.array_1", "3"},
                                                                    {"json.a.array_2.c", "4"},
                                                                    {"json.a.array_3", "x"},
                                                                    {"json.b", "true"}}));
}

TEST(JsonBodyTest, TopLevelArray) {
  EXPECT_EQ(Parse(R"([1,"two",[3],{"k":null}])"), (Args{{"json.array_0", "1"},
                                                        {"json.array_1", "two"},
                                                        {"json.array_2.array_0", "3"},
                                                        {"json.array_3.k", ""}}));
}

TEST(JsonBodyTest, TopLevelScalars) {
  EXPECT_EQ(Parse(R"("hello")"), (Args{{"json", "hello"}}));
  EXPECT_EQ(Parse("  42 \n"), (Args{{"json", "42"}}));
  EXPECT_EQ(Parse("true"), (Args{{"json", "true"}}));
  EXPECT_EQ(Parse("null"), (Args{{"json", ""}}));
}

TEST(JsonBodyTest, EmptyKeys) {
  EXPECT_EQ(Parse(R"({"":1,"a":{"":2},"b":[{"":3}],"":{"c":4}})"),
            (Args{{"json.empty-key", "1"},
                  {"json.a.empty-key", "2"},
                  {"json.b.array_0.empty-key", "3"},
                  {"json.empty-key.c", "4"}}));
}

TEST(JsonBodyTest, ValuesAsV3RendersThem) {
  EXPECT_EQ(
      Parse(
          R"({"t":true,"f":false,"n":null,"i":-0,"d":1.50e+3,"big":123456789012345678901234567890,"huge":1E400})"),
      (Args{{"json.t", "true"},
            {"json.f", "false"},
            {"json.n", ""},
            {"json.i", "-0"},
            {"json.d", "1.50e+3"},
            {"json.big", "123456789012345678901234567890"},
            {"json.huge", "1E400"}}));
}

TEST(JsonBodyTest, EmptyContainersAddNothing) {
  EXPECT_TRUE(Parse(R"({"a":{},"b":[],"c":[[],{}]})").empty());
  EXPECT_TRUE(Parse("[]").empty());
  EXPECT_TRUE(Parse("{}").empty());
}

TEST(JsonBodyTest, DuplicateKeysAllKept) {
  EXPECT_EQ(Parse(R"({"a":"1","a":"2","a":{"a":"3"}})"),
            (Args{{"json.a", "1"}, {"json.a", "2"}, {"json.a.a", "3"}}));
}

TEST(JsonBodyTest, UnicodeEscapesDecoded) {
  const Args args = Parse(R"({"k\u00e9y":"\u003cscript\u003e","e":"\ud83d\ude00","z":"a\u0000b"})");
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[0], (Arg{"json.k\xC3\xA9y", "<script>"}));
  EXPECT_EQ(args[1], (Arg{"json.e", "\xF0\x9F\x98\x80"}));
  EXPECT_EQ(args[2], (Arg{"json.z", std::string("a\0b", 3)}));
}

TEST(JsonBodyTest, EscapesDecoded) {
  EXPECT_EQ(Parse(R"(["a\"b\\c\/d\n\t"])"), (Args{{"json.array_0", "a\"b\\c/d\n\t"}}));
  // CRS 920540 test 3: an escaped backslash, so no unicode escape is decoded.
  EXPECT_EQ(Parse(R"({"testarg": "\\u0065val"})"), (Args{{"json.testarg", "\\u0065val"}}));
}

// YAJL turns a lone surrogate into '?'; simdjson rejects it, and so do we (fails closed).
TEST(JsonBodyTest, LoneSurrogateRejected) {
  Error(R"(["\ud800"])");
  Error(R"(["\udc00x"])");
}

TEST(JsonBodyTest, EmptyBodyIsNotAnError) {
  Args out;
  std::string error;
  EXPECT_TRUE(ParseJsonBody("", out, &error));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(error.empty());
}

TEST(JsonBodyTest, InvalidJsonRejected) {
  for (const char* body :
       {"a",       " ",          "{",          "[",         "[1",          "{\"a\":1",
        "]",       "}",          "[}",         "{]",        "[1,]",        "{\"a\":1,}",
        "[,1]",    "{,}",        "{\"a\" 1}",  "{\"a\",1}", "[\"a\":1]",   "{\"a\":}",
        "[1 2]",   "[1] x",      "[1]]",       "1 2",       "\"a\" \"b\"", "{} {}",
        "[01]",    "[1.]",       "[.5]",       "[-]",       "[1e]",        "[+1]",
        "[0x10]",  "[1x]",       "[nul]",      "[truex]",   "[True]",      "tru",
        "nulll",   "[NaN]",      "[Infinity]", "['a']",     "{a:1}",       "/*c*/[1]",
        "[1]//c",  "[\"a\nb\"]", "[\"\\x\"]",  "\"abc",     "[\"abc]",     "[\"\xff\"]",
        "[1] \xff"}) {
    Error(body);
  }
}

TEST(JsonBodyTest, ControlCharacterInStringRejected) {
  Error(std::string("[\"a\x01z\"]"));
  Error(std::string("[\"a\0z\"]", 7));
}

// v3's depth test (SecRequestBodyJsonDepthLimit 5 passes five nested objects, 4 does not).
TEST(JsonBodyTest, DepthLimitAsV3) {
  const std::string body =
      R"({   "key1":{   "key2":{   "key3":{   "key4":{   "key5":"thevalue"}}}}})";
  EXPECT_EQ(Parse(body, 5), (Args{{"json.key1.key2.key3.key4.key5", "thevalue"}}));
  JsonLimits four;
  four.max_depth = 4;
  EXPECT_NE(Error(body, four).find("Parsing depth limit exceeded"), std::string::npos);
  EXPECT_EQ(Parse("[[1]]", 2).size(), 1u);
  JsonLimits one;
  one.max_depth = 1;
  Error("[[1]]", one);
  EXPECT_EQ(Parse("[1]", 1).size(), 1u);
  EXPECT_EQ(Parse("7", 1).size(), 1u);  // a lone scalar opens no container
}

TEST(JsonBodyTest, DeepNestingAtTheDefaultLimit) {
  const int depth = kJsonDefaultMaxDepth;
  const std::string ok = std::string(depth, '[') + "1" + std::string(depth, ']');
  const Args args = Parse(ok);
  ASSERT_EQ(args.size(), 1u);
  EXPECT_EQ(args[0].value, "1");
  EXPECT_EQ(args[0].name.size(), 4 + 8 * static_cast<std::size_t>(depth));

  const std::string deep = std::string(depth + 1, '[') + "1" + std::string(depth + 1, ']');
  EXPECT_NE(Error(deep).find("depth"), std::string::npos);
}

// Far deeper than any limit and unbalanced: must fail without recursion or a crash.
TEST(JsonBodyTest, HostileNestingFailsSafely) {
  Error(std::string(1'000'000, '['));
  Error(std::string(500'000, '{'));
  std::string objects;
  for (int i = 0; i < 200'000; ++i) objects += "{\"a\":";
  Error(objects);
  JsonLimits big;
  big.max_depth = 1'000'000;
  Error(std::string(300'000, '[') + std::string(300'000, ']') + "]", big);
}

// Errors found while walking leave what came before (as YAJL's callbacks do in v3). simdjson
// finds unbalanced brackets and bad UTF-8 before the walk, so those leave nothing.
TEST(JsonBodyTest, PartialArgumentsKeptOnError) {
  Args out;
  std::string error;
  EXPECT_FALSE(ParseJsonBody(R"({"a":"attack","b":[1,2,,3]})", out, &error));
  EXPECT_EQ(out, (Args{{"json.a", "attack"}, {"json.b.array_0", "1"}, {"json.b.array_1", "2"}}));
  out.clear();
  EXPECT_FALSE(ParseJsonBody(R"({"a":"attack","b":[1,2)", out, &error));
  EXPECT_TRUE(out.empty());
}

TEST(JsonBodyTest, ArgumentsLimitCancelsTheParse) {
  JsonLimits limits;
  limits.max_args = 2;
  Args out;
  std::string error;
  EXPECT_FALSE(ParseJsonBody("[1,2,3]", out, &error, limits));
  EXPECT_EQ(out, (Args{{"json.array_0", "1"}, {"json.array_1", "2"}}));
  out.clear();
  EXPECT_TRUE(ParseJsonBody("[1,2]", out, &error, limits));
}

TEST(JsonBodyTest, OutputBudgetBoundsNameAmplification) {
  // 200 nested objects with 1000-byte keys, then 20000 numbers: every name repeats ~200 KB.
  const std::string key(1000, 'k');
  std::string body;
  for (int i = 0; i < 200; ++i) body += "{\"" + key + "\":";
  body += "[";
  for (int i = 0; i < 20000; ++i) body += i ? ",1" : "1";
  body += "]" + std::string(200, '}');
  Args out;
  std::string error;
  EXPECT_FALSE(ParseJsonBody(body, out, &error));
  EXPECT_NE(error.find("output limit"), std::string::npos);
  std::size_t bytes = 0;
  for (const Arg& a : out) bytes += a.name.size() + a.value.size();
  EXPECT_LE(bytes, 16 * body.size() + (1u << 20));
}

TEST(JsonBodyTest, ManyArgumentsLinear) {
  std::string body = "{";
  for (int i = 0; i < 100000; ++i) body += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":\"v\"";
  body += "}";
  const Args args = Parse(body);
  ASSERT_EQ(args.size(), 100000u);
  EXPECT_EQ(args.back(), (Arg{"json.k99999", "v"}));
}

TEST(JsonBodyTest, NullErrorPointerAllowed) {
  Args out;
  EXPECT_FALSE(ParseJsonBody("{", out, nullptr));
}

}  // namespace
}  // namespace rampart::waf
