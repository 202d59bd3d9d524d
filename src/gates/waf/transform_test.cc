// Expected outputs are ModSecurity v3's (checked against its own transformation code and its
// secrules-language-tests vectors); "quirk" marks a v3 result kept on purpose.
#include "gates/waf/transform.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace rampart::waf {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

// Bytes outside printable ASCII as \xHH, so failures are readable.
std::string Printable(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      r.push_back(char(c));
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    }
  }
  return r;
}

struct Case {
  std::string in;
  std::string want;
};

// Each case's output, and the changed flag: true exactly when the output differs from the input.
void Expect(TransformId id, const std::vector<Case>& cases) {
  std::string out;
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(TransformName(id)) + "(\"" + Printable(c.in) + "\")");
    const bool changed = ApplyTransform(id, c.in, out);
    EXPECT_EQ(Printable(out), Printable(c.want));
    EXPECT_EQ(changed, c.want != c.in);
  }
}

std::string Hex(std::string_view s) {
  std::string r;
  for (unsigned char c : s) {
    char buf[3];
    std::snprintf(buf, sizeof buf, "%02x", c);
    r += buf;
  }
  return r;
}

TEST(TransformNames, CaseInsensitiveLikeTheV3Lexer) {
  EXPECT_EQ(FindTransform("base64Decode"), TransformId::kBase64Decode);
  EXPECT_EQ(FindTransform("base64decode"), TransformId::kBase64Decode);  // CRS 4.28 writes both
  EXPECT_EQ(FindTransform("URLDECODEUNI"), TransformId::kUrlDecodeUni);
  EXPECT_EQ(FindTransform("utf8ToUnicode"), TransformId::kUtf8ToUnicode);
  EXPECT_EQ(FindTransform("none"), TransformId::kNone);
}

TEST(TransformNames, Aliases) {
  EXPECT_EQ(FindTransform("normalisePath"), TransformId::kNormalizePath);
  EXPECT_EQ(FindTransform("normalisepathwin"), TransformId::kNormalizePathWin);
  EXPECT_EQ(FindTransform("cmd_line"), TransformId::kCmdLine);
  EXPECT_EQ(FindTransform("compress_whitespace"), TransformId::kCompressWhitespace);
}

TEST(TransformNames, Unknown) {
  const std::string_view names[] = {"",         "alert",         "9001",   "t:none",
                                    "urlDecod", "urlDecodeUnix", "sha256", "phpArgsNames",
                                    "none "sv,  "none\0"sv};
  for (std::string_view name : names) EXPECT_EQ(FindTransform(name), std::nullopt) << name;
}

TEST(TransformNames, EveryIdRoundTrips) {
  for (int i = 0; i <= int(TransformId::kUtf8ToUnicode); ++i) {
    const auto id = TransformId(i);
    ASSERT_FALSE(TransformName(id).empty()) << i;
    EXPECT_EQ(FindTransform(TransformName(id)), id) << TransformName(id);
  }
  EXPECT_EQ(TransformName(TransformId(200)), "");
  EXPECT_EQ(TransformName(TransformId::kNormalizePath), "normalizePath");
  EXPECT_EQ(TransformName(TransformId::kUtf8ToUnicode), "utf8toUnicode");
}

TEST(TransformNames, EveryNameCrsUses) {
  for (std::string_view name : {"none",
                                "urlDecodeUni",
                                "lowercase",
                                "jsDecode",
                                "htmlEntityDecode",
                                "utf8toUnicode",
                                "removeNulls",
                                "cssDecode",
                                "cmdLine",
                                "removeWhitespace",
                                "replaceComments",
                                "normalizePath",
                                "escapeSeqDecode",
                                "compressWhitespace",
                                "normalizePathWin",
                                "length",
                                "base64Decode",
                                "sha1",
                                "hexEncode",
                                "removeCommentsChar",
                                "base64decode"}) {
    EXPECT_TRUE(FindTransform(name).has_value()) << name;
  }
}

TEST(Transform, NoneCopies) {
  Expect(TransformId::kNone, {{"", ""}, {"a\0b"s, "a\0b"s}, {"%41", "%41"}});
}

TEST(Transform, OutputReusesItsCapacity) {
  std::string out;
  out.reserve(4096);
  const char* data = out.data();
  const std::string in =
      "%u0041&#x41;\\x41 /* c */ 0x41 \xc3\xa9 ../a/./b//c " + std::string(64, 'A');
  for (int i = 0; i <= int(TransformId::kUtf8ToUnicode); ++i) {
    ApplyTransform(TransformId(i), in, out);
    EXPECT_EQ(out.data(), data) << TransformName(TransformId(i));
  }
}

TEST(Transform, ChangedFlagIsTheComparisonNotV3sFlag) {
  std::string out;
  EXPECT_TRUE(ApplyTransform(TransformId::kCmdLine, "ABC", out));  // v3: false (same length)
  EXPECT_TRUE(ApplyTransform(TransformId::kCompressWhitespace, "a\tb", out));  // v3: false
  EXPECT_TRUE(ApplyTransform(TransformId::kCssDecode, "\\q", out));            // v3: false
  EXPECT_TRUE(ApplyTransform(TransformId::kUtf8ToUnicode, "a\0b"s, out));      // v3: false
  EXPECT_FALSE(ApplyTransform(TransformId::kParityZero7bit, "abc", out));      // v3: true
  EXPECT_FALSE(ApplyTransform(TransformId::kLength, "1", out));                // v3: true
  EXPECT_FALSE(ApplyTransform(TransformId::kLowercase, "\xe9", out));          // v3: true
}

TEST(Transform, Base64Decode) {
  Expect(TransformId::kBase64Decode,
         {{"", ""},
          {"VGVzdENhc2U=", "TestCase"},
          {"VGVzdABDYXNl", "Test\0Case"s},
          {"VGVz\r\ndA==", "Test"},   // line breaks are allowed anywhere
          {"VGVzdA", "Tes"},          // an unpadded last quantum is dropped
          {"VGVz dA==", ""},          // v3 (mbedtls): one bad byte empties it all; v2
          {"PHNjcmlwdD4=!", ""},      //   decoded up to that byte instead
          {"VGVzdA==\0!!"s, "Test"},  // v3 stops at the first NUL
          {"QQ===", ""}});
}

TEST(Transform, Base64DecodeExt) {
  Expect(TransformId::kBase64DecodeExt,
         {{"", ""},
          {"P.HNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==", "<script>alert(1)</script>"},
          {"VGVz dA", "Test"},  // invalid bytes skipped, no padding needed
          {"VG\0Vz-dA=="s, "Test"},
          {"QUJDRA=", "ABCD"},
          {"QUJDR=", ""},  // padding after a lone sextet empties it
          {"QUJD9", ""},   // quirk: a final '9' (sextet 61 == '=') does too
          {"QUJDQ", "ABC"}});
}

TEST(Transform, Base64Encode) {
  Expect(TransformId::kBase64Encode,
         {{"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"}, {"\0\xff"s, "AP8="}});
}

TEST(Transform, CmdLine) {
  Expect(TransformId::kCmdLine, {{"", ""},
                                 {"test", "test"},
                                 {"C^OMMAND /C DIR", "command/c dir"},
                                 {"\"command\" /c DiR", "command/c dir"},
                                 {"cmd,/c DiR", "cmd/c dir"},
                                 {"w'h'o\"am\"i", "whoami"},
                                 {"ec\\ho (id)", "echo(id)"},
                                 {"  ls\t\t;\n-la", " ls -la"},
                                 {"a \" /b", "a/b"}});
}

TEST(Transform, CompressWhitespace) {
  Expect(TransformId::kCompressWhitespace, {{"", ""},
                                            {"a b", "a b"},
                                            {"a  b\t\r\nc", "a b c"},
                                            {"a\tb", "a b"},
                                            {"\v\f", " "},
                                            {"a\xa0\xa0"
                                             "b",
                                             "a\xa0\xa0"
                                             "b"}});  // v2 compressed NBSP
}

TEST(Transform, CssDecode) {
  Expect(TransformId::kCssDecode,
         {{"", ""},
          {"TestCase", "TestCase"},
          {"\\3c script\\3e", "<script>"},  // one space after an escape is swallowed
          {"\\00003c", "<"},                // up to six digits, the last two count
          {"\\ff1c", "<"},                  // full-width FF1C
          {"ja\\vascript", "javascript"},
          {"a\\\nb", "ab"},
          {"\\1 A",
           "\x01"
           "A"},
          {"test\\", "test"}});
}

TEST(Transform, EscapeSeqDecode) {
  Expect(TransformId::kEscapeSeqDecode,
         {{"", ""},
          {"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\\\", "\a\b\f\n\r\t\v?'\"\\"},
          {"\\x41\\x4g", "Ax4g"},
          {"\\101\\0\\777", "A\0\xff"s},
          {"\\8\\9", "89"},
          {"\\x", "x"},
          {"abc\\", "abc\\"}});
}

TEST(Transform, HexDecode) {
  Expect(TransformId::kHexDecode, {{"", ""},
                                   {"5465737443617365", "TestCase"},
                                   {"4142434", "ABC"},  // an odd last digit is dropped
                                   {"a", ""},           // v3 before 3.0.15 read out of bounds
                                   {"0z", "#"},         // quirk: not validated
                                   {"00", "\0"s}});
}

TEST(Transform, HexEncode) {
  Expect(TransformId::kHexEncode, {{"", ""}, {"AB\0"s, "414200"}, {"\xff", "ff"}});
}

TEST(Transform, HtmlEntityDecode) {
  Expect(TransformId::kHtmlEntityDecode,
         {{"", ""},
          {"&lt;script&gt;", "<script>"},
          {"&#60;&#x3C;&#X3c", "<<<"},
          {"&#00000000000000000000000000000000000000000000000123;", "{"},  // CVE-2025-27110
          {"&#x4141;&#999;", "A\xe7"},                                     // the low byte
          {"&#99999999999999999999999;", "\xff"},  // strtol saturates at LONG_MAX
          {"&", "&"},
          {"&#", "&#"},
          {"&#x", "&#x"},
          {"&#;&#xg;", "&#;&#xg;"},
          {"&quotx;&foo;&AMP", "\"&foo;&"},  // a known prefix decodes, the run is eaten
          {"&nbsp", "\xa0"}});
}

TEST(Transform, JsDecode) {
  Expect(TransformId::kJsDecode, {{"", ""},
                                  {"\\u003cscript\\u003e", "<script>"},
                                  {"\\uff1c", "<"},  // full-width
                                  {"\\u4141", "A"},  // the low byte
                                  {"\\x3c\\74", "<<"},
                                  {"\\477", "'7"},  // three digits only while <= \377
                                  {"\\n\\t\\q", "\n\tq"},
                                  {"\\u12", "u12"},
                                  {"\\", "\\"}});
}

TEST(Transform, Length) {
  Expect(TransformId::kLength,
         {{"", "0"}, {"abc", "3"}, {"a\0b"s, "3"}, {std::string(1000, 'x'), "1000"}, {"1", "1"}});
}

TEST(Transform, LowercaseUppercase) {
  Expect(TransformId::kLowercase,
         {{"", ""}, {"SeLeCt", "select"}, {"abc", "abc"}, {"\xc3\x89Z\0"s, "\xc3\x89z\0"s}});
  Expect(TransformId::kUppercase,
         {{"", ""}, {"select", "SELECT"}, {"ABC", "ABC"}, {"\xe9z", "\xe9Z"}});
}

TEST(Transform, Md5Sha1AreBinaryDigests) {
  std::string out;
  EXPECT_TRUE(ApplyTransform(TransformId::kMd5, "", out));
  EXPECT_EQ(Hex(out), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_TRUE(ApplyTransform(TransformId::kMd5, "abc", out));
  EXPECT_EQ(Hex(out), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_TRUE(ApplyTransform(TransformId::kSha1, "", out));
  EXPECT_EQ(Hex(out), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_TRUE(ApplyTransform(TransformId::kSha1, "abc", out));
  EXPECT_EQ(Hex(out), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_TRUE(ApplyTransform(TransformId::kSha1, "a\0b"s, out));
  EXPECT_EQ(out.size(), 20u);
}

TEST(Transform, NormalizePath) {
  Expect(TransformId::kNormalizePath,
         {{"", ""},
          {"/foo/bar/baz", "/foo/bar/baz"},
          {".", ""},
          {"./", ""},
          {"../..", "../.."},
          {"dir/../../foo", "../foo"},  // a relative path keeps what it cannot resolve
          {"/dir/foo//bar", "/dir/foo/bar"},
          {"dir//.//..//.//..//..//foo//bar//", "../../foo/bar/"},
          {"/./.././../../../../../../../\0/../etc/./passwd"s, "/etc/passwd"},
          {"a\\..\\b", "a\\..\\b"}});
}

TEST(Transform, NormalizePathWin) {
  Expect(TransformId::kNormalizePathWin,
         {{"", ""},
          {"\\foo\\bar\\baz", "/foo/bar/baz"},
          {"..\\..\\windows\\win.ini", "../../windows/win.ini"},
          {"C:\\x\\..\\boot.ini", "C:/boot.ini"},
          {"\\dir\\.\\subdir\\..\\", "/dir/"},
          {"\\.\\..\\.\\..\\..\\..\\\\0\\..\\etc\\.\\passwd", "/etc/passwd"}});
}

TEST(Transform, Parity) {
  // v3 counts all eight bits, so a byte with bit 7 set gets "wrong" 7-bit parity: kept.
  Expect(TransformId::kParityEven7bit, {{"", ""}, {"A", "A"}, {"C", "\xc3"}, {"\x81", "\x01"}});
  Expect(TransformId::kParityOdd7bit, {{"", ""}, {"A", "\xc1"}, {"C", "C"}, {"\x80", "\0"s}});
  Expect(TransformId::kParityZero7bit, {{"", ""}, {"abc", "abc"}, {"\xc1\xff", "A\x7f"}});
}

TEST(Transform, RemoveComments) {
  Expect(TransformId::kRemoveComments,
         {{"", ""},
          {"TestCase", "TestCase"},
          {"Before/* TestCase */After", "BeforeAfter"},
          {"/* TestCase */", "\0"s},  // quirk: a closer at the end copies the NUL terminator
          {"/*a*/#x", "#x"},          // quirk: the byte after a closer is copied unchecked
          {"1 UNION--x", "1 UNION"},  // "--" and "#" end the value
          {"id#x", "id"},
          {"Before /* Test\nCase ", "Before  "},  // unterminated: one space
          {"<!-- x -->y", "y"}});
}

TEST(Transform, RemoveCommentsChar) {
  Expect(TransformId::kRemoveCommentsChar, {{"", ""},
                                            {"/* TestCase */", " TestCase "},
                                            {"UN/**/ION SEL--ECT#", "UNION SELECT"},
                                            {"<!--x-->", "x"},
                                            {"a-->b", "ab"}});
}

TEST(Transform, RemoveAndReplaceNulls) {
  Expect(TransformId::kRemoveNulls, {{"", ""}, {"abc", "abc"}, {"a\0b\0\0"s, "ab"}, {"\0"s, ""}});
  Expect(TransformId::kReplaceNulls,
         {{"", ""}, {"abc", "abc"}, {"a\0b\0\0"s, "a b  "}, {"\0"s, " "}});
}

TEST(Transform, RemoveWhitespace) {
  Expect(TransformId::kRemoveWhitespace, {{"", ""},
                                          {"a b\t\n\r\v\fc", "abc"},
                                          {"a\xa0"
                                           "b",
                                           "ab"},
                                          {"\xc2\xa0", ""},
                                          {"\xc3\xa9", "\xc3\xa9"},
                                          {"\xc2\xa9", "\xa9"}});  // quirk: every 0xc2 goes
}

TEST(Transform, ReplaceComments) {
  Expect(TransformId::kReplaceComments, {{"", ""},
                                         {"UN/**/ION", "UN ION"},
                                         {"a/*b", "a "},
                                         {"/*/", " "},
                                         {"a*/b", "a*/b"},
                                         {"a/*x*/b/*y*/c", "a b c"}});
}

TEST(Transform, SqlHexDecode) {
  Expect(TransformId::kSqlHexDecode, {{"", ""},
                                      {"0x414243", "ABC"},
                                      {"SELECT 0x73656c656374", "SELECT select"},
                                      {"0x4", "0x4"},
                                      {"0x", "0x"},
                                      {"0x41424", "AB4"},
                                      {"0X41zz", "Azz"}});
}

TEST(Transform, Trim) {
  Expect(TransformId::kTrim, {{"", ""}, {" \t a b \r\n", "a b"}, {"\xa0x\xa0", "\xa0x\xa0"}});
  Expect(TransformId::kTrimLeft, {{"", ""}, {" \t a b \r\n", "a b \r\n"}, {"\v\fx", "x"}});
  Expect(TransformId::kTrimRight, {{"", ""}, {" \t a b \r\n", " \t a b"}, {"  ", ""}});
}

TEST(Transform, UrlDecode) {
  Expect(TransformId::kUrlDecode, {{"", ""},
                                   {"a+b%20c", "a b c"},
                                   {"%2527", "%27"},  // one level per application
                                   {"%4", "%4"},
                                   {"%", "%"},
                                   {"%zz%4g", "%zz%4g"},
                                   {"%u0041", "%u0041"},
                                   {"%00a", "\0a"s}});
}

TEST(Transform, UrlDecodeUni) {
  Expect(TransformId::kUrlDecodeUni, {{"", ""},
                                      {"%u0041%U0042+%43", "AB C"},
                                      {"%uff1cscript%uFF1E", "<script>"},  // full-width
                                      {"%u4141", "A"},                     // the low byte
                                      {"%uff00%uff5f", "\0_"s},  // only FF01..FF5E are shifted
                                      {"%u12", "%u12"},
                                      {"%u", "%u"},
                                      {"%u%41", "%uA"},
                                      {"%%u0020", "% "}});
}

TEST(Transform, UrlEncode) {
  Expect(TransformId::kUrlEncode, {{"", ""},
                                   {"a b", "a+b"},
                                   {"<script>", "%3cscript%3e"},
                                   {"*A9z", "*A9z"},
                                   {"\xff\0+%"s, "%ff%00%2b%25"}});
}

TEST(Transform, Utf8ToUnicode) {
  Expect(TransformId::kUtf8ToUnicode,
         {{"", ""},
          {"TestCase", "TestCase"},
          {"\xc3\xa9", "%u00e9"},
          {"\xe2\x82\xac", "%u20ac"},
          {"\xf0\x9f\x98\x80", "%u1f600"},
          {"\xc0\xaf", "%u002f\xc0"},      // quirk: overlong, the lead byte follows
          {"\xed\xa0\x80", "%ud800\xed"},  // quirk: surrogate, likewise
          {"\xf5\x80\x80\x80", "\xf5%u140000"},
          {"a\0b"s, "ab"},   // quirk: a NUL is dropped...
          {"a\0"s, "a\0"s},  // ...unless it is the last byte
          {"\xc3(", "("},    // a lead byte without its continuation is dropped
          {"\x80"
           "abc",
           "\x80"
           "abc"}});
}

// TransformKeeps is a shortcut the engine takes to skip a copy: it may say "unchanged" only
// when ApplyTransform would leave the value as it is, for every transformation and value.
TEST(TransformKeeps, NeverClaimsAChangingValueIsKept) {
  const std::string values[] = {"",
                                "plain",
                                "with space",
                                "two  spaces",
                                "tab\there",
                                "A%41",
                                "a+b",
                                "&amp;",
                                "\\x41",
                                std::string("nul\0x", 5),
                                "caf\xc3\xa9",
                                "/* c */",
                                "UPPER",
                                "lower",
                                "\xc2\xa0",
                                " lead",
                                "trail ",
                                "--",
                                "#x",
                                "a\nb"};
  int kept = 0;
  for (int i = 0; i <= static_cast<int>(TransformId::kUtf8ToUnicode); ++i) {
    const auto id = static_cast<TransformId>(i);
    for (const auto& v : values) {
      std::string out;
      const bool changed = ApplyTransform(id, v, out);
      if (TransformKeeps(id, v)) {
        ++kept;
        EXPECT_FALSE(changed) << TransformName(id) << " on " << v;
      }
    }
  }
  EXPECT_GT(kept, 50);  // the shortcut does apply to ordinary values
  EXPECT_TRUE(TransformKeeps(TransformId::kUrlDecodeUni, "plain-value_1.2"));
  EXPECT_FALSE(TransformKeeps(TransformId::kUrlDecodeUni, "a+b"));
  EXPECT_FALSE(TransformKeeps(TransformId::kLowercase, "Mozilla"));
  EXPECT_FALSE(TransformKeeps(TransformId::kSha1, ""));
}

}  // namespace
}  // namespace rampart::waf
