// XML request bodies (text/xml, application/xml, ...) for the XML:/* and XML://@* targets CRS
// inspects, parsed with libxml2 the way ModSecurity v3 parses them (RequestBodyProcessor::XML)
// and read the way v3 evaluates those two XPath expressions (variables::XML: one value per node
// in the result, each node's xmlNodeGetContent).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace rampart::waf {

struct XmlValues {
  // XML:/* — the root element's string value: all text and CDATA below it concatenated in
  // document order, internal entity references replaced by their text (xmlNodeGetContent
  // follows them), comments and processing instructions left out. At most one entry.
  std::vector<std::string> text;
  // XML://@* — every attribute value in document order (entity references replaced, as above).
  // Namespace declarations (xmlns, xmlns:p) are not attributes in XPath and are not included.
  std::vector<std::string> attributes;
};

// Parses `body` and appends its values to `out`. Returns false and sets `*error` (if given) when
// the document is not well-formed or our expansion limits are hit. Like v3, which keeps and
// evaluates the document libxml2 built up to the error, `out` then holds what was parsed.
// The engine sets REQBODY_ERROR_MSG to "XML parsing error: " + *error.
//
// External entities and DTDs are never loaded (no XML_PARSE_NOENT / DTDLOAD / DTDVALID, and
// XML_PARSE_NONET; while a body is parsed the process's libxml2 entity loader refuses every
// URL): v3's default, SecXmlExternalEntity Off. Internal entities are not substituted by the
// parser; their text is added while reading, within a budget (8 x body size + 1 MiB of output,
// 16 x body size + 64 Ki nodes visited), so billion-laughs or quadratic-blowup documents fail
// instead of expanding. Never throws except std::bad_alloc.
bool ParseXmlBody(std::string_view body, XmlValues& out, std::string* error);

}  // namespace rampart::waf
