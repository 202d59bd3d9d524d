// XML bodies with libxml2, as ModSecurity v3 reads them for XML:/* and XML://@*.
//
// v3 (src/request_body_processor/xml.cc) feeds the body to a push parser created with default
// options, keeps ctxt->myDoc even when the document is not well-formed, and reports
// "XML: Failed parsing document." in that case. Its XML variable (src/variables/xml.cc) then
// evaluates the rule's XPath and takes xmlNodeGetContent of every node found. For the two
// expressions CRS uses we compute the same strings directly from the tree: "/*" is the root
// element, "//@*" every attribute in document order. xmlNodeGetContent expands internal entity
// references recursively and without limit — a billion-laughs document that libxml2 half-built
// before failing could still explode there — so our walk is iterative and budgeted.
#include "gates/waf/xml_body.h"

#include <libxml/entities.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

#include <climits>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

namespace rampart::waf {
namespace {

constexpr std::string_view kNotWellFormed = "XML: Failed parsing document.";  // v3's message
constexpr std::string_view kTooLarge =
    "XML: Failed parsing document (entity expansion exceeds the limit).";

// Set while this thread parses a request body: the entity loader below then refuses every URL.
thread_local bool t_parsing_body = false;
xmlExternalEntityLoader g_previous_loader = nullptr;

// v3 installs a loader that returns NULL (XML::unloadExternalEntity) unless
// SecXmlExternalEntity is On. libxml2's loader is process-wide, so ours defers to the previous
// one outside our parses instead of changing what other libxml2 users get.
xmlParserInputPtr BodyEntityLoader(const char* url, const char* id, xmlParserCtxtPtr ctxt) {
  if (t_parsing_body) return nullptr;
  return g_previous_loader != nullptr ? g_previous_loader(url, id, ctxt) : nullptr;
}

void InitLibxml() {
  static std::once_flag once;
  std::call_once(once, [] {
    xmlInitParser();
    g_previous_loader = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(BodyEntityLoader);
  });
}

// libxml2 reports errors through this context only (XML_PARSE_NOERROR / NOWARNING silence the
// rest), so nothing reaches stderr.
void IgnoreError(void*, xmlErrorPtr) {}

struct ParsingBody {
  ParsingBody() { t_parsing_body = true; }
  ~ParsingBody() { t_parsing_body = false; }
  ParsingBody(const ParsingBody&) = delete;
  ParsingBody& operator=(const ParsingBody&) = delete;
};

struct CtxtFree {
  void operator()(xmlParserCtxtPtr c) const { xmlFreeParserCtxt(c); }
};
struct DocFree {
  void operator()(xmlDocPtr d) const { xmlFreeDoc(d); }
};

class Reader {
 public:
  Reader(xmlDocPtr doc, std::size_t body_size)
      : doc_(doc),
        output_budget_(8 * body_size + (std::size_t{1} << 20)),
        visit_budget_(16 * body_size + 65536) {}

  bool exhausted() const { return exhausted_; }

  // The string value of a node list (xmlBufGetNodeContent): text and CDATA in document order,
  // entity references replaced by their entity's parsed children. Stops at the budget.
  void Content(xmlNodePtr first, std::string& out) {
    stack_.clear();
    if (first != nullptr) stack_.push_back(first);
    while (!stack_.empty()) {
      xmlNodePtr n = stack_.back();
      stack_.pop_back();
      if (!Visit()) return;
      if (n->next != nullptr) stack_.push_back(n->next);
      switch (n->type) {
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
          if (n->content != nullptr && !Append(out, reinterpret_cast<const char*>(n->content))) {
            return;
          }
          break;
        case XML_ELEMENT_NODE:
          if (n->children != nullptr) stack_.push_back(n->children);
          break;
        case XML_ENTITY_REF_NODE: {
          // As xmlBufGetNodeContent: look the entity up by name, walk its parsed content.
          xmlEntityPtr ent = xmlGetDocEntity(doc_, n->name);
          if (ent != nullptr && ent->children != nullptr) stack_.push_back(ent->children);
          break;
        }
        default:  // comments, processing instructions, ...: not part of the string value
          break;
      }
    }
  }

  // Every attribute of every element of the tree, in document order (XPath's //@*). Like
  // XPath's descendant axis, the walk does not enter entity references.
  void Attributes(xmlNodePtr root, std::vector<std::string>& out) {
    std::vector<xmlNodePtr> elements;
    if (root != nullptr) elements.push_back(root);
    while (!elements.empty() && !exhausted_) {
      xmlNodePtr n = elements.back();
      elements.pop_back();
      if (!Visit()) return;
      if (n->next != nullptr) elements.push_back(n->next);
      if (n->type != XML_ELEMENT_NODE) continue;
      if (n->children != nullptr) elements.push_back(n->children);
      for (xmlAttrPtr a = n->properties; a != nullptr && !exhausted_; a = a->next) {
        std::string value;
        Content(a->children, value);
        out.push_back(std::move(value));
      }
    }
  }

 private:
  bool Visit() {
    if (visit_budget_ == 0) {
      exhausted_ = true;
      return false;
    }
    --visit_budget_;
    return true;
  }

  bool Append(std::string& out, const char* text) {
    const std::string_view s(text);
    if (s.size() > output_budget_) {
      out.append(s.substr(0, output_budget_));
      output_budget_ = 0;
      exhausted_ = true;
      return false;
    }
    output_budget_ -= s.size();
    out.append(s);
    return true;
  }

  xmlDocPtr doc_;
  std::size_t output_budget_;
  std::size_t visit_budget_;
  bool exhausted_ = false;
  std::vector<xmlNodePtr> stack_;
};

bool Fail(std::string* error, std::string_view message) {
  if (error != nullptr) *error = message;
  return false;
}

}  // namespace

bool ParseXmlBody(std::string_view body, XmlValues& out, std::string* error) {
  if (body.size() > static_cast<std::size_t>(INT_MAX)) return Fail(error, kNotWellFormed);
  try {
    InitLibxml();
    std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(
        xmlCreateMemoryParserCtxt(body.data(), static_cast<int>(body.size())));
    // libxml2 gives no context for an empty buffer; v3 parses it and finds no document.
    if (ctxt == nullptr) return Fail(error, kNotWellFormed);
    // v3's parser runs with libxml2's defaults: entities are not substituted (no NOENT) and
    // neither the external subset nor external entities are loaded. We state those choices
    // explicitly rather than trusting process-wide defaults, and add NONET.
    xmlCtxtUseOptions(ctxt.get(), XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    ctxt->replaceEntities = 0;
    ctxt->loadsubset = 0;
    ctxt->validate = 0;
    ctxt->sax->serror = IgnoreError;
    {
      ParsingBody guard;
      xmlParseDocument(ctxt.get());
    }
    const bool well_formed = ctxt->wellFormed != 0;
    std::unique_ptr<xmlDoc, DocFree> doc(ctxt->myDoc);
    ctxt->myDoc = nullptr;
    ctxt.reset();

    if (doc != nullptr) {
      Reader reader(doc.get(), body.size());
      xmlNodePtr root = xmlDocGetRootElement(doc.get());
      if (root != nullptr) {
        std::string text;
        reader.Content(root->children, text);
        out.text.push_back(std::move(text));
        reader.Attributes(root, out.attributes);
      }
      if (reader.exhausted()) return Fail(error, kTooLarge);
    }
    if (!well_formed || doc == nullptr) return Fail(error, kNotWellFormed);
    return true;
  } catch (const std::bad_alloc&) {
    return Fail(error, "XML: out of memory.");
  }
}

}  // namespace rampart::waf
