// Fills a transaction's variables from the request line and headers (as ModSecurity v3's
// processURI and addRequestHeader do), the request body (its body processors) and the response;
// and makes and destroys a transaction.
#include <algorithm>
#include <cctype>

#include "core/strings.h"
#include "gates/waf/json_body.h"
#include "gates/waf/multipart.h"
#include "gates/waf/transaction.h"
#include "gates/waf/urlencoded.h"
#include "gates/waf/xml_body.h"

namespace rampart::waf {

namespace {

int Hex(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<unsigned char>(c | 0x20);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// ModSecurity v3's utils::uri_decode: %XX with two hex digits decoded, anything else kept.
std::string UriDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const int a = Hex(static_cast<unsigned char>(in[i + 1]));
      const int b = Hex(static_cast<unsigned char>(in[i + 2]));
      if (a >= 0 && b >= 0) {
        out.push_back(static_cast<char>(a * 16 + b));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

Entry MakeEntry(std::string_view key, std::string_view value) {
  return Entry{std::string(key), std::string(value)};
}

void AddArgs(std::vector<Entry>& out, const std::vector<Arg>& args) {
  for (const auto& a : args) out.push_back(MakeEntry(a.name, a.value));
}

// The body processor a Content-Type asks for ("" for none). ModSecurity v3 picks URLENCODED and
// MULTIPART itself and needs its recommended configuration's rules 200000/200001
// (ctl:requestBodyProcessor) for JSON and XML; rampart picks all four, when the head arrives, so
// REQBODY_PROCESSOR reads the same in phase 1 as behind that configuration. A phase-1 ctl wins.
std::string ProcessorFor(std::string_view content_type) {
  std::string ct = ToLower(content_type.substr(0, content_type.find(';')));
  while (!ct.empty() && (ct.back() == ' ' || ct.back() == '\t')) ct.pop_back();
  if (ct == "application/x-www-form-urlencoded") return "URLENCODED";
  if (ct == "multipart/form-data") return "MULTIPART";
  if (ct == "application/json" || ct.ends_with("+json")) return "JSON";
  if (ct == "text/xml" || ct == "application/xml" || ct.ends_with("+xml")) return "XML";
  return {};
}

constexpr std::string_view kMultipartFlags[] = {
    "MULTIPART_STRICT_ERROR",        "MULTIPART_UNMATCHED_BOUNDARY",
    "MULTIPART_BOUNDARY_QUOTED",     "MULTIPART_BOUNDARY_WHITESPACE",
    "MULTIPART_DATA_BEFORE",         "MULTIPART_DATA_AFTER",
    "MULTIPART_HEADER_FOLDING",      "MULTIPART_LF_LINE",
    "MULTIPART_MISSING_SEMICOLON",   "MULTIPART_INVALID_QUOTING",
    "MULTIPART_INVALID_PART",        "MULTIPART_INVALID_HEADER_FOLDING",
    "MULTIPART_FILE_LIMIT_EXCEEDED", "MULTIPART_CRLF_LF_LINES",
};

}  // namespace

Transaction::Transaction(const RuleSet& rules)
    : rules_(rules),
      mode_(rules.settings().mode),
      request_body_access_(rules.settings().request_body_access),
      response_body_access_(rules.settings().response_body_access) {
  columns_ = rules.transform_chains().size() + 1;
  scalar_slots_.fill(-1);
  // What CRS at paranoia 1 uses for an ordinary API request, so that they grow once at most.
  tf_items_.reserve(512);
  signatures_.reserve(256);
  tf_arena_.reserve(8192);
}

// Out of line and cold (transaction.h): it destroys some forty members.
Transaction::~Transaction() = default;

void Transaction::SetRequest(const RequestInfo& req) {
  method_ = std::string(req.method);
  protocol_ = std::string(req.protocol);
  uri_raw_ = std::string(req.target);
  line_ = method_ + " " + uri_raw_ + " " + protocol_;
  std::string_view uri = req.target;
  const auto hash = uri.find('#');
  if (hash != std::string_view::npos) uri = uri.substr(0, hash);
  const auto q = uri.find('?');
  const std::string_view path_raw = uri.substr(0, q);
  filename_ = UriDecode(path_raw);
  const auto slash = filename_.find_last_of("/\\");
  if (slash != std::string::npos && slash + 1 < filename_.size()) {
    basename_ = filename_.substr(slash + 1);
  }
  if (q != std::string_view::npos) query_ = std::string(uri.substr(q + 1));
  // REQUEST_URI: decoded, without scheme and authority when the target had them.
  uri_ = UriDecode(uri);
  if (!uri_.empty() && uri_[0] != '/') {
    const auto scheme = uri_.find("://");
    if (scheme != std::string::npos) {
      const auto path = uri_.find('/', scheme + 3);
      if (path != std::string::npos) uri_ = uri_.substr(path);
    }
  }
  remote_addr_ = std::string(req.client_addr);
  remote_port_ = std::to_string(req.client_port);
  server_addr_ = std::string(req.server_addr);
  server_port_ = std::to_string(req.server_port);
  server_name_ = std::string(req.server_name);
  unique_id_ = std::string(req.unique_id);
  bool seen_content_type = false;
  for (const auto& [name, value] : req.headers) {
    headers_.push_back(MakeEntry(name, value));
    if (IEquals(name, "cookie")) {
      // As v3's addRequestHeader: split on ';', key up to the first '=', key left-trimmed,
      // empty keys skipped, trailing blanks of the last pair dropped.
      std::string_view rest = value;
      while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back())))
        rest.remove_suffix(1);
      while (true) {
        const auto semi = rest.find(';');
        std::string_view c = rest.substr(0, semi);
        const auto eq = c.find('=');
        std::string_view k = c.substr(0, eq);
        std::string_view v = eq == std::string_view::npos ? std::string_view() : c.substr(eq + 1);
        while (!k.empty() && std::isspace(static_cast<unsigned char>(k.front())))
          k.remove_prefix(1);
        if (!k.empty()) cookies_.push_back(MakeEntry(k, v));
        if (semi == std::string_view::npos) break;
        rest.remove_prefix(semi + 1);
      }
    } else if (IEquals(name, "content-type") && !seen_content_type) {
      // The first field decides, as for the gate that hands the body over (and as its
      // boundary is read): two that disagree must not be read one way here and another there.
      seen_content_type = true;
      body_processor_ = ProcessorFor(value);
    } else if (IEquals(name, "host") && server_name_.empty()) {
      server_name_ = std::string(value.substr(0, value.find(':')));
    }
  }
  if (!query_.empty()) {
    std::vector<Arg> args;
    int invalid = 0;
    ParseUrlEncoded(query_, rules_.settings().argument_separator, args, &invalid);
    if (invalid > 0) urlencoded_error_ = "1";
    AddArgs(args_get_, args);
  }
  std::size_t combined = 0;
  for (const auto& e : args_get_) combined += e.key().size() + e.value.size();
  args_combined_size_ = std::to_string(combined);
}

void Transaction::ProcessBody(std::string_view body, std::string_view content_type) {
  if (body_processor_.empty()) body_processor_ = ProcessorFor(content_type);
  const auto& s = rules_.settings();
  std::string error;
  if (body_processor_ != "MULTIPART" && body.size() > s.request_body_no_files_limit) {
    // ModSecurity v3 stops here; rampart still parses (the body is within
    // SecRequestBodyLimit), so that with `uninspectable: pass` the rules see its arguments.
    error = "Request body excluding files is bigger than the maximum expected.";
    inbound_data_error_ = "1";
  }
  if (body_processor_ == "URLENCODED") {
    std::vector<Arg> args;
    int invalid = 0;
    ParseUrlEncoded(body, s.argument_separator, args, &invalid);
    if (invalid > 0) urlencoded_error_ = "1";
    AddArgs(args_post_, args);
  } else if (body_processor_ == "JSON") {
    std::vector<Arg> args;
    if (!ParseJsonBody(body, args, &error, s.json_depth_limit) && !body.empty()) {
      error = "JSON parsing error: " + error;
    }
    AddArgs(args_post_, args);
  } else if (body_processor_ == "XML") {
    XmlValues xml;
    if (!ParseXmlBody(body, xml, &error)) {
      error = "XML parsing error: " + error;
    } else {
      for (auto& t : xml.text) xml_text_.push_back(MakeEntry({}, t));
      for (auto& a : xml.attributes) xml_attrs_.push_back(MakeEntry({}, a));
    }
  } else if (body_processor_ == "MULTIPART") {
    MultipartLimits limits;
    MultipartResult mp = ParseMultipart(content_type, body, limits);
    AddArgs(args_post_, mp.args);
    std::uint64_t total = 0;
    for (const auto& f : mp.files) {
      files_.push_back(MakeEntry(f.name, f.filename));
      files_names_.push_back(MakeEntry(f.name, f.name));
      files_sizes_.push_back(MakeEntry(f.name, std::to_string(f.size)));
      total += f.size;
    }
    files_combined_size_ = std::to_string(total);
    for (const auto& h : mp.part_headers) {
      part_headers_.push_back(MakeEntry(h.name, h.value));
    }
    multipart_filenames_ = mp.filenames;
    multipart_names_ = mp.names;
    for (std::string_view flag : kMultipartFlags) {
      const int v = mp.Flag(flag);
      if (v >= 0) multipart_flags_.push_back(MakeEntry(flag, std::to_string(v)));
    }
    if (mp.reqbody_error) error = "Multipart parsing error: " + mp.reqbody_error_msg;
  }
  const std::size_t args = args_get_.size() + args_post_.size();
  if (args > static_cast<std::size_t>(s.argument_limit)) {
    // SecArgumentsLimit: more arguments than rules are meant to walk is a body error (the
    // arguments past the limit are not kept).
    args_post_.resize(args_post_.size() - std::min(args_post_.size(), args - s.argument_limit));
    if (error.empty()) error = "Request body contains more arguments than SecArgumentsLimit.";
  }
  if (!error.empty()) {
    reqbody_error_ = "1";
    reqbody_processor_error_ = "1";
    reqbody_error_msg_ = error;
  }
}

void Transaction::SetRequestBody(std::string_view body, bool complete,
                                 std::string_view content_type) {
  (void)complete;
  if (request_body_access_) ProcessBody(body, content_type);
  std::size_t combined = 0;
  for (const auto& e : args_get_) combined += e.key().size() + e.value.size();
  for (const auto& e : args_post_) combined += e.key().size() + e.value.size();
  args_combined_size_ = std::to_string(combined);
  std::size_t head = 0;
  for (const auto& e : headers_) head += e.key().size() + 2 + e.value.size() + 1;
  full_request_length_ = std::to_string(head + 2 + body.size());
  if (!body.empty() && request_body_access_) {
    request_body_ = std::string(body);
    request_body_length_ = std::to_string(body.size());
  }
}

void Transaction::SetResponse(
    int status, std::string_view protocol,
    const std::vector<std::pair<std::string_view, std::string_view>>& headers) {
  response_status_ = std::to_string(status);
  response_protocol_ = std::string(protocol);
  for (const auto& [name, value] : headers) {
    response_headers_.push_back(MakeEntry(name, value));
    if (IEquals(name, "content-type")) response_content_type_ = std::string(value);
    if (IEquals(name, "content-length")) response_content_length_ = std::string(value);
  }
}

void Transaction::AppendResponseBody(std::string_view piece) {
  const auto limit = rules_.settings().response_body_limit;
  if (response_body_.size() >= limit) return;
  response_body_.append(piece.substr(0, limit - response_body_.size()));
}

}  // namespace rampart::waf
