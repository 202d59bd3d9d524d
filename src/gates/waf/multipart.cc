// multipart/form-data with ModSecurity v3's parser semantics (RequestBodyProcessor::Multipart in
// src/request_body_processor/multipart.cc), written anew.
//
// Like v3 we read the body in "buffers": a line including its '\n', or 4096 bytes
// (MULTIPART_BUF_SIZE) when the line is longer — one byte less if the 4096th is '\r', so a CRLF
// is never split. A boundary is only recognised in a buffer that starts a line. Header lines
// must fit one buffer. In part data, the line ending of each buffer is held back ("reserved")
// until the next buffer shows it was not the CRLF before a boundary. The flags, the messages
// (REQBODY_ERROR_MSG), which errors stop the parse and which only flag it, follow v3 line by line;
// the comments say where.
//
// Where we differ from v3, and why:
//  * Multi-line form values keep their line breaks. v3 loses the reserved bytes of non-file
//    parts (it assigns the reserve, then overwrites it with the buffer), so "a\r\nb" reaches
//    ARGS_POST as "ab" — its own regression test (request-body-parser-multipart-crlf.json)
//    enshrines "22.12.22.3". Backends see the line breaks, and rules that look for newlines
//    (command and header injection) need them.
//  * A duplicate part header (two Content-Disposition lines, say) is an error. v3 ignores the
//    second one silently (it returns false where v2 returned -1 and the caller tests < 0), so the
//    WAF and a backend that takes the last header can see different field names / filenames.
//  * An empty boundary (boundary= or boundary="") is an error. v3 returns from init() without
//    setting an error, so the body goes unparsed and REQBODY_ERROR stays 0.
//  * An unterminated quoted Content-Disposition value (name="abc) is an error. v3 steps past the
//    end of the string there (undefined behaviour).
//  * SecUploadFileLimit: the (limit+1)-th file part exceeds it. v3 checks the limit only when it
//    writes files to disk (SecUploadKeepFiles / SecTmpSaveUploadedFiles) and counts a file
//    already open, so a limit of 1 trips on the second line of the first file.
//  * Parts completed before a fatal error (e.g. a missing final boundary) are still returned,
//    next to REQBODY_ERROR. v3 returns no ARGS_POST / FILES then; more inspection is safer.
//  * A folded header stops growing at 4096 bytes (v3 keeps appending after flagging "Part header
//    too long"), and the header line v3 rebuilds on every fold is built once (linear time).
//  * Our limits (max_parts, max_header_bytes) stop the parse with their own messages; v3 has
//    none. MULTIPART_INVALID_PART also reports a name-less last part closed by an unterminated
//    final boundary (v3 has already published the flag by then).
#include "gates/waf/multipart.h"

#include <string.h>  // memmem (GNU)

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace rampart::waf {
namespace {

constexpr std::size_t kBufSize = 4096;  // v3's MULTIPART_BUF_SIZE

// isspace() in the "C" locale, as v3 calls it.
bool IsSpace(unsigned char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
bool IsBlank(char c) { return c == ' ' || c == '\t'; }
bool IsAlnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsXDigit(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

// v3's utils::string::chomp: drop trailing CR/LF, but leave a string made only of them as is.
std::string_view Chomp(std::string_view s) {
  const std::size_t pos = s.find_last_not_of("\r\n");
  return pos == std::string_view::npos ? s : s.substr(0, pos + 1);
}

// The C string v3 sees in its NUL-terminated buffer: up to the first NUL.
std::string_view CString(std::string_view s) { return s.substr(0, s.find('\0')); }

// v3 Multipart::count_boundary_params: occurrences of "boundary" (any case) with an '=' anywhere
// after them.
int CountBoundaryParams(std::string_view s) {
  const std::string lower = LowerCopy(s);
  int count = 0;
  std::size_t pos = 0;
  while ((pos = lower.find("boundary", pos)) != std::string::npos) {
    pos += 8;
    if (lower.find('=', pos) != std::string::npos) ++count;
  }
  return count;
}

// v3 Multipart::boundary_characters_valid: RFC 2046's bchars; space only if not last.
bool BoundaryCharactersValid(std::string_view b) {
  for (std::size_t i = 0; i < b.size(); ++i) {
    const char c = b[i];
    if (IsAlnum(static_cast<unsigned char>(c))) continue;
    if (c == ' ' && i + 1 < b.size()) continue;
    if (c == '\0' || std::string_view("'()+_,-./:=?").find(c) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

// v3 Multipart::is_token_char (RFC 2045 token characters: no CTLs, space or tspecials).
bool IsTokenChar(unsigned char c) {
  if (c <= 32 || c >= 127) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(static_cast<char>(c)) == std::string_view::npos;
}

bool IsMimeCharsetSpecial(char c) {
  return c != '\0' && std::string_view("!#$%&+-^_`{}~").find(c) != std::string_view::npos;
}
bool IsAttrCharSpecial(char c) {
  return c != '\0' && std::string_view("!#$&+-.^_`~").find(c) != std::string_view::npos;
}

struct Header {
  std::string name;  // as sent
  std::string value;
  bool overflowed = false;  // grew past 4096 bytes by folding
};

struct Part {
  bool is_file = false;
  std::string name;
  std::string filename;
  std::string value;     // non-file parts
  std::size_t size = 0;  // file parts
  bool file_counted = false;
  std::vector<Header> headers;
  std::unordered_map<std::string, std::size_t> header_index;  // lower-cased name -> headers[]
  std::optional<std::size_t> last_header;                     // the header a folded line continues
  // The header line waiting to be recorded (v3's m_last_header_line): the raw line, or — after
  // folding — "Name: value" of headers[last_header], built when recorded.
  std::optional<std::string> pending_raw;
  bool pending_folded = false;
  std::vector<std::string> header_lines;
  std::size_t header_bytes = 0;

  const Header* Find(std::string_view name) const {
    const auto it = header_index.find(LowerCopy(name));
    return it == header_index.end() ? nullptr : &headers[it->second];
  }
};

class Parser {
 public:
  Parser(const MultipartLimits& limits, MultipartResult& r) : limits_(limits), r_(r) {}

  bool Init(std::string_view content_type);
  void Process(std::string_view body);
  void Finish();

 private:
  void SetError(std::string message) {
    // v3 keeps one message and each error overwrites it; REQBODY_ERROR is set if there is one.
    r_.reqbody_error = true;
    r_.reqbody_error_msg = std::move(message);
  }
  bool Fatal(std::string message) {  // v3: m_flag_error = 1 and process() returns false
    r_.flags.error = 1;
    SetError(std::move(message));
    stopped_ = true;
    return false;
  }
  bool LimitHit(std::string message) {
    stopped_by_limit_ = true;
    return Fatal(std::move(message));
  }

  bool Buffer(std::string_view buf, bool split_before_cr);
  bool HeaderLine(std::string_view line);
  void EndOfHeaders();
  void FoldedLine(std::string_view line);
  void NewHeader(std::string_view line, std::size_t length_without_eol);
  void RecordPendingHeaderLine();
  void DataLine(std::string_view line);
  bool Boundary(bool is_final);
  int ParseContentDisposition(std::string_view cd);
  void ValidateQuotes(std::string_view value, char quote) {
    // v3 Multipart::validate_quotes: a single quote inside a value that was not double-quoted.
    if (quote != '"' && value.find('\'') != std::string_view::npos) r_.flags.invalid_quoting = 1;
  }

  const MultipartLimits& limits_;
  MultipartResult& r_;
  std::string boundary_;
  std::string dashed_boundary_;  // "--" + boundary_
  std::optional<Part> part_;     // v3's m_mpp
  bool in_headers_ = false;      // v3's m_mpp_state == 0
  bool part_data_read_ = false;  // v3's m_mpp_substate_part_data_read
  std::string reserve_;          // v3's m_reserve: held-back line ending of the last data buffer
  int boundary_count_ = 0;
  std::size_t parts_started_ = 0;
  std::size_t files_counted_ = 0;
  bool seen_data_ = false;
  bool complete_ = false;
  bool stopped_ = false;
  bool stopped_by_limit_ = false;
  // v3's buffer state between buffers: does the next buffer start a line, and did the last one
  // end in a bare LF (m_crlf_state_buf_end == 2)?
  bool buf_starts_line_ = true;
  bool prev_lf_only_ = false;
  std::string_view tail_;  // bytes after the last full buffer (v3 leaves them in m_buf)
};

// v3 Multipart::init: the Content-Type header and its boundary parameter.
bool Parser::Init(std::string_view content_type) {
  if (content_type.empty()) return Fatal("Multipart: Content-Type header not available.");
  if (content_type.size() > 1024) return Fatal("Multipart: Invalid boundary in C-T (length).");
  const std::string_view ct = CString(content_type);
  if (ct.size() < 19 || !EqualsIgnoreCase(ct.substr(0, 19), "multipart/form-data")) {
    return Fatal("Multipart: Invalid MIME type.");
  }
  if (CountBoundaryParams(ct) > 1) return Fatal("Multipart: Multiple boundary parameters in C-T.");

  const std::size_t b = ct.find("boundary");  // case-sensitive, as v3's strstr
  if (b == std::string_view::npos) {
    if (CountBoundaryParams(ct) > 0) {
      return Fatal("Multipart: Invalid boundary in C-T (case sensitivity).");
    }
    return Fatal("Multipart: Boundary not found in C-T.");
  }
  // Between the MIME type and "boundary" only whitespace and one semicolon may appear.
  bool seen_semicolon = false;
  for (std::size_t p = 19; p < b; ++p) {
    if (IsSpace(static_cast<unsigned char>(ct[p]))) continue;
    if (!seen_semicolon && ct[p] == ';') {
      seen_semicolon = true;
    } else {
      return Fatal("Multipart: Invalid boundary in C-T (malformed).");
    }
  }
  if (!seen_semicolon) r_.flags.missing_semicolon = 1;

  const std::size_t eq = ct.find('=', b + 8);
  if (eq == std::string_view::npos) return Fatal("Multipart: Invalid boundary in C-T (malformed).");
  for (std::size_t p = b + 8; p < eq; ++p) {
    if (!IsSpace(static_cast<unsigned char>(ct[p]))) {
      return Fatal("Multipart: Invalid boundary in C-T (parameter name).");
    }
    r_.flags.boundary_whitespace = 1;  // "boundary =..."
  }
  const std::string_view value = ct.substr(eq + 1);
  if (!value.empty() && IsSpace(static_cast<unsigned char>(value[0]))) {
    r_.flags.boundary_whitespace = 1;  // "boundary= ..."
  }
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    boundary_ = value.substr(1, value.size() - 2);
    // v3 returns false here without an error message (the body then goes unparsed, with no
    // REQBODY_ERROR); we report it.
    if (boundary_.empty()) return Fatal("Multipart: Invalid boundary in C-T (empty).");
    r_.flags.boundary_quoted = 1;
  } else {
    if ((!value.empty() && value.front() == '"') || (value.size() >= 2 && value.back() == '"')) {
      return Fatal("Multipart: Invalid boundary in C-T (quote).");
    }
    boundary_ = value;
    if (boundary_.empty()) return Fatal("Multipart: Invalid boundary in C-T (empty).");
  }
  if (CountBoundaryParams(boundary_) != 0) {
    return Fatal("Multipart: Invalid boundary in C-T (content).");
  }
  // v3 tolerates a parameter after the boundary (boundary=x; charset=utf-8).
  if (!BoundaryCharactersValid(boundary_)) {
    const std::size_t semicolon = boundary_.find(';');
    if (semicolon != std::string::npos) boundary_.resize(semicolon);
  }
  if (!BoundaryCharactersValid(boundary_)) {
    return Fatal("Multipart: Invalid boundary in C-T (characters).");
  }
  if (boundary_.empty()) return Fatal("Multipart: Invalid boundary in C-T (empty).");
  dashed_boundary_ = "--" + boundary_;
  return true;
}

// v3 Multipart::process, one buffer at a time instead of one byte at a time.
void Parser::Process(std::string_view body) {
  if (body.empty()) return;  // v3: no data, no "no boundaries" error later
  seen_data_ = true;
  const std::size_t n = body.size();
  std::size_t begin = 0;
  while (begin < n) {
    const std::size_t window = std::min(kBufSize, n - begin);
    const void* nl = memchr(body.data() + begin, '\n', window);
    std::size_t end;
    bool split_before_cr = false;
    if (nl != nullptr) {
      end = static_cast<std::size_t>(static_cast<const char*>(nl) - body.data()) + 1;
    } else if (window == kBufSize) {
      end = begin + kBufSize;
      // v3 never takes '\r' as the last byte of a full buffer: it starts the next one.
      if (body[end - 1] == '\r') {
        --end;
        split_before_cr = true;
      }
    } else {
      break;  // an unterminated last line stays in the buffer, for Finish
    }
    const std::string_view buf = body.substr(begin, end - begin);
    if (!Buffer(buf, split_before_cr)) return;
    const bool ends_line = buf.back() == '\n';
    buf_starts_line_ = ends_line;
    prev_lf_only_ = ends_line && (end < 2 || body[end - 2] != '\r');
    begin = end;
    if (complete_ && begin < n) {
      r_.flags.data_after = 1;  // anything at all after the final boundary line
      return;
    }
  }
  tail_ = body.substr(begin);
}

bool Parser::Buffer(std::string_view buf, bool split_before_cr) {
  const std::string_view cbuf = CString(buf);  // v3's strlen / strncmp stop at a NUL
  const std::size_t blen = boundary_.size();
  bool processed_as_boundary = false;
  if (buf_starts_line_ && cbuf.size() > 3 && buf[0] == '-' && buf[1] == '-') {
    if (cbuf.size() >= blen + 2 && buf.compare(2, blen, boundary_) == 0) {
      if (prev_lf_only_) r_.flags.lf_line = 1;  // the line before the boundary ended in LF
      if (!part_data_read_ && boundary_count_ > 0) {
        // A boundary where the part's data should start (after headers without data, or in
        // the headers): v3 flags it and then treats the line as data or as a header line.
        r_.flags.invalid_part = 1;
      } else {
        // v3 sets 2 on every boundary after the first, overwriting a 1 set earlier; rules test
        // "@eq 1" (the recommended rule 200004), so 2 means "no unmatched boundary since".
        if (boundary_count_ > 0) r_.flags.unmatched_boundary = 2;
        std::string_view rest = buf.substr(2 + blen);
        const bool is_final = rest.size() >= 2 && rest[0] == '-' && rest[1] == '-';
        if (is_final) {
          rest.remove_prefix(2);
          if (complete_) return Fatal("Multipart: Invalid boundary (final duplicate).");
        }
        if (rest != "\r\n" && rest != "\n") {
          return Fatal("Multipart: Invalid boundary: " + std::string(cbuf));
        }
        if (rest[0] == '\n') {
          r_.flags.lf_line = 1;
        } else {
          r_.flags.crlf_line = 1;
        }
        if (!Boundary(is_final)) return false;
        if (is_final) complete_ = true;
        processed_as_boundary = true;
        ++boundary_count_;
      }
    } else {
      // Starts with "--" but is not our boundary: reject near misses a backend may accept.
      if (r_.flags.boundary_quoted && cbuf.size() >= blen + 3 && buf[2] == '"' &&
          buf.compare(3, blen, boundary_) == 0) {
        return Fatal("Multipart: Invalid boundary (quotes).");
      }
      std::size_t p = 2;
      while (p < cbuf.size() && IsSpace(static_cast<unsigned char>(buf[p]))) ++p;
      if (p != 2 && cbuf.size() - p >= blen && buf.compare(p, blen, boundary_) == 0) {
        return Fatal("Multipart: Invalid boundary (whitespace).");
      }
      r_.flags.unmatched_boundary = 1;
    }
  } else if (buf_starts_line_) {
    // "--boundary" anywhere inside the line. memmem (two-way) keeps this linear where v3's
    // strncmp at every "--" is quadratic in the boundary length.
    if (memmem(buf.data(), buf.size(), dashed_boundary_.data(), dashed_boundary_.size()) !=
        nullptr) {
      r_.flags.unmatched_boundary = 1;
    }
  }

  if (processed_as_boundary) return true;
  if (!part_) {
    r_.flags.data_before = 1;
    return true;
  }
  if (in_headers_) {
    if (buf.size() == kBufSize || split_before_cr) {
      return Fatal("Multipart: Part header line over " + std::to_string(kBufSize) + " bytes long");
    }
    return HeaderLine(buf);
  }
  DataLine(buf);
  return true;
}

// v3 Multipart::process_part_header. `line` ends with '\n'. Problems set REQBODY_ERROR but do
// not stop the parse (v3 returns false where its caller tests < 0); the line is then ignored.
bool Parser::HeaderLine(std::string_view line) {
  if (line.find('\0') != std::string_view::npos) {
    SetError("Multipart: Nul byte in part headers.");
    return true;
  }
  r_.no_files_bytes += line.size();
  part_->header_bytes += line.size();
  if (limits_.max_header_bytes != 0 && part_->header_bytes > limits_.max_header_bytes) {
    return LimitHit("Multipart: Part headers over " + std::to_string(limits_.max_header_bytes) +
                    " bytes.");
  }
  std::size_t length_without_eol = line.size() - 1;
  if (line.size() > 1 && line[line.size() - 2] == '\r') {
    r_.flags.crlf_line = 1;
    --length_without_eol;
  } else {
    r_.flags.lf_line = 1;
  }
  if (line == "\r\n" || line == "\n") {
    EndOfHeaders();
  } else if (IsSpace(static_cast<unsigned char>(line[0]))) {
    FoldedLine(line);
  } else {
    NewHeader(line, length_without_eol);
  }
  return true;
}

void Parser::EndOfHeaders() {
  RecordPendingHeaderLine();
  const Header* cd = part_->Find("Content-Disposition");
  if (cd == nullptr) {
    SetError("Multipart: Part missing Content-Disposition header.");
    return;
  }
  const std::string value = cd->value;
  const int rc = ParseContentDisposition(value);
  if (rc < 0) {
    SetError("Multipart: Invalid Content-Disposition header (" + std::to_string(rc) +
             "): " + value);
    return;
  }
  if (part_->name.empty()) {
    SetError("Multipart: Content-Disposition header missing name field.");
    return;
  }
  if (!part_->filename.empty()) {
    // "filename =" parsed, but a crude parser that looks for "filename=" would miss it.
    if (value.find("filename=") == std::string::npos) {
      SetError("Multipart: Invalid Content-Disposition header (filename).");
      return;
    }
    part_->is_file = true;
  } else {
    part_->is_file = false;  // v3: filename="" makes a plain form field
  }
  in_headers_ = false;
  part_data_read_ = false;
  part_->last_header.reset();
}

void Parser::FoldedLine(std::string_view line) {
  r_.flags.header_folding = 1;
  // RFC 2557 folds with SP / HTAB only; PHP takes any isspace() (v3 accepts, with a flag).
  if (!IsBlank(line[0])) r_.flags.invalid_header_folding = 1;
  if (!part_->last_header) {
    SetError("Multipart: Invalid part header (folding error).");
    return;
  }
  std::size_t i = 0;
  while (i < line.size() && IsSpace(static_cast<unsigned char>(line[i]))) {
    if (!IsBlank(line[i])) r_.flags.invalid_header_folding = 1;
    ++i;
  }
  const std::string_view more = Chomp(line.substr(i));
  Header& h = part_->headers[*part_->last_header];
  if (h.overflowed || h.value.size() + 1 + more.size() > kBufSize) {
    h.overflowed = true;
    SetError("Multipart: Part header too long.");
    return;
  }
  h.value += ' ';
  h.value += more;
  part_->pending_raw.reset();
  part_->pending_folded = true;
}

void Parser::NewHeader(std::string_view line, std::size_t length_without_eol) {
  RecordPendingHeaderLine();
  const std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    SetError("Multipart: Invalid part header (colon missing): " + std::string(line));
    return;
  }
  if (colon == 0) {
    SetError("Multipart: Invalid part header (header name missing).");
    return;
  }
  const std::string_view name = line.substr(0, colon);
  for (const char ch : name) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126) {
      SetError("Multipart: Invalid part header (contains invalid character).");
      return;
    }
  }
  std::size_t v = colon + 1;
  while (v < line.size() && IsBlank(line[v])) ++v;
  const std::string_view value = Chomp(line.substr(v));
  std::string key = LowerCopy(name);
  if (part_->header_index.count(key) != 0) {
    // v2's message; v3 drops the header without an error (see the top of this file).
    SetError("Multipart: Duplicate part header: " + std::string(name) + ".");
    return;
  }
  part_->header_index.emplace(std::move(key), part_->headers.size());
  part_->last_header = part_->headers.size();
  part_->headers.push_back(Header{std::string(name), std::string(value), false});
  part_->pending_folded = false;
  part_->pending_raw = std::string(line.substr(0, length_without_eol));
}

// v3 records a header line for MULTIPART_PART_HEADERS when the next header line starts or the
// headers end — not at a boundary, so a part cut off in its headers loses its last line.
void Parser::RecordPendingHeaderLine() {
  Part& p = *part_;
  std::string line;
  if (p.pending_folded && p.last_header) {
    const Header& h = p.headers[*p.last_header];
    line = h.name + ": " + h.value;
  } else if (p.pending_raw) {
    line = std::move(*p.pending_raw);
  }
  p.pending_raw.reset();
  p.pending_folded = false;
  if (!line.empty()) p.header_lines.push_back(std::move(line));
}

// v3 Multipart::process_part_data.
void Parser::DataLine(std::string_view buf) {
  part_data_read_ = true;
  std::size_t reserved = 0;
  if (buf.back() == '\n') reserved = buf.size() >= 2 && buf[buf.size() - 2] == '\r' ? 2 : 1;
  const std::string_view data = buf.substr(0, buf.size() - reserved);
  if (part_->is_file) {
    if (!part_->file_counted) {
      part_->file_counted = true;
      if (limits_.max_files != 0 && files_counted_ >= limits_.max_files) {
        if (r_.flags.file_limit_exceeded == 0) {
          r_.flags.file_limit_exceeded = 1;
          SetError("Multipart: Upload file limit exceeded " + std::to_string(limits_.max_files) +
                   ". Use SecUploadFileLimit to change the limit.");
        }
      } else {
        ++files_counted_;
      }
    }
    part_->size += reserve_.size() + data.size();
  } else {
    r_.no_files_bytes += reserve_.size() + data.size();
    part_->value += reserve_;  // v3 drops these bytes (see the top of this file)
    part_->value += data;
  }
  reserve_.assign(buf.substr(buf.size() - reserved));
}

// v3 Multipart::process_boundary: close the part being built (ARGS_POST / FILES and its header
// lines), then start the next one unless this is the final boundary.
bool Parser::Boundary(bool is_final) {
  if (part_) {
    Part& p = *part_;
    for (std::string& line : p.header_lines)
      r_.part_headers.push_back(Arg{p.name, std::move(line)});
    if (p.name.empty()) {
      r_.flags.invalid_part = 1;
    } else if (p.is_file) {
      const Header* ct = p.Find("Content-Type");
      r_.combined_file_size += p.size;
      r_.files.push_back(MultipartFile{std::move(p.name), std::move(p.filename), p.size,
                                       ct != nullptr ? ct->value : std::string()});
    } else {
      r_.args.push_back(Arg{std::move(p.name), std::move(p.value)});
    }
    part_.reset();
  }
  if (!is_final) {
    if (limits_.max_parts != 0 && parts_started_ >= limits_.max_parts) {
      return LimitHit("Multipart: More than " + std::to_string(limits_.max_parts) + " parts.");
    }
    ++parts_started_;
    part_.emplace();
    in_headers_ = true;
    part_data_read_ = false;
    reserve_.clear();
  }
  return true;
}

// v3 Multipart::parse_content_disposition: 1, or a negative code that goes into the message.
// Reads the value as v3 reads its C string: past the end is '\0'.
int Parser::ParseContentDisposition(std::string_view cd) {
  const auto at = [cd](std::size_t i) { return i < cd.size() ? cd[i] : '\0'; };
  if (cd.substr(0, 9) != "form-data") return -1;
  std::size_t p = 9;
  while (IsBlank(at(p))) ++p;
  if (at(p) == '\0') return 1;
  if (at(p) != ';') return -2;
  ++p;
  std::string filename_star;
  while (at(p) != '\0') {
    while (IsBlank(at(p))) ++p;
    if (at(p) == '\0') return -3;
    const std::size_t name_start = p;
    while (at(p) != '\0' && at(p) != '=' && !IsBlank(at(p))) ++p;
    if (at(p) == '\0') return -4;
    const std::string_view name = cd.substr(name_start, p - name_start);
    while (IsBlank(at(p))) ++p;
    if (at(p) == '\0') return -5;
    if (at(p) != '=') return -13;
    ++p;
    while (IsBlank(at(p))) ++p;
    if (at(p) == '\0') return -6;

    std::string value;
    char quote = '\0';
    if (name == "filename*") {
      // RFC 5987: charset'[language]'percent-encoded-name; kept encoded, as v3 does.
      const std::size_t charset_start = p;
      while (IsAlnum(static_cast<unsigned char>(at(p))) || IsMimeCharsetSpecial(at(p))) ++p;
      if (at(p) != '\'' || p == charset_start) return -16;
      ++p;
      while (at(p) != '\0' && at(p) != '\'') ++p;
      if (at(p) != '\'') return -17;
      ++p;
      const std::size_t filename_start = p;
      while (at(p) != '\0' && at(p) != ';') {
        if (at(p) == '%') {
          if (!IsXDigit(static_cast<unsigned char>(at(p + 1))) ||
              !IsXDigit(static_cast<unsigned char>(at(p + 2)))) {
            return -18;
          }
          p += 3;
        } else if (IsAlnum(static_cast<unsigned char>(at(p))) || IsAttrCharSpecial(at(p))) {
          ++p;
        } else {
          return -19;
        }
      }
      value = cd.substr(filename_start, p - filename_start);
    } else if (at(p) == '"' || at(p) == '\'') {
      // Single quotes are accepted, as some backends accept them, but flagged.
      quote = at(p);
      if (quote == '\'') r_.flags.invalid_quoting = 1;
      ++p;
      if (at(p) == '\0') return -7;
      bool closed = false;
      while (at(p) != '\0') {
        if (at(p) == '\\') {
          if (at(p + 1) == '\0') return -8;
          // Only the quote and '\' are escapes; any other '\' is kept (IE sends such names).
          if (at(p + 1) == quote || at(p + 1) == '\\') ++p;
        } else if (at(p) == quote) {
          closed = true;
          break;
        }
        value.push_back(at(p));
        ++p;
      }
      if (!closed) return -7;  // v3 reads past the end of the string here
      ++p;
    } else {
      const std::size_t value_start = p;
      while (at(p) != '\0' && IsTokenChar(static_cast<unsigned char>(at(p)))) ++p;
      value = cd.substr(value_start, p - value_start);
    }

    if (name == "name") {
      ValidateQuotes(value, quote);
      r_.names.push_back(value);  // MULTIPART_NAME, recorded even if a duplicate
      if (!part_->name.empty()) return -14;
      part_->name = value;
    } else if (name == "filename") {
      ValidateQuotes(value, quote);
      r_.filenames.push_back(value);  // MULTIPART_FILENAME
      if (!part_->filename.empty()) return -15;
      part_->filename = value;
    } else if (name == "filename*") {
      if (!filename_star.empty()) return -20;
      filename_star = value;
    } else {
      return -11;
    }

    if (at(p) != '\0') {
      while (IsBlank(at(p))) ++p;
      if (at(p) != '\0') {
        if (at(p) != ';') {
          // name="a"b: v3 looks at the byte before the junk and flags a quote there.
          if (cd[p - 1] == '\'' || cd[p - 1] == '"') r_.flags.invalid_quoting = 1;
          return -12;
        }
        ++p;
      }
    }
  }
  if (!filename_star.empty() && part_->filename.empty()) return -21;
  return 1;
}

// v3 Multipart::multipart_complete.
void Parser::Finish() {
  if (seen_data_ && !complete_ && !stopped_by_limit_) {
    if (boundary_count_ > 0) {
      // The final boundary may end the body without a line ending.
      if (!stopped_ && buf_starts_line_ && tail_.size() == boundary_.size() + 4 &&
          tail_.substr(0, 2) == "--" && tail_.compare(2, boundary_.size(), boundary_) == 0 &&
          tail_.substr(2 + boundary_.size()) == "--") {
        if (prev_lf_only_) r_.flags.lf_line = 1;
        if (!part_data_read_) r_.flags.invalid_part = 1;  // final boundary where data should be
        Boundary(true);
        complete_ = true;
      }
      if (!complete_) SetError("Multipart: Final boundary missing.");
    } else {
      SetError("Multipart: No boundaries found in payload.");
    }
  }
  MultipartFlags& f = r_.flags;
  f.crlf_lf_lines = f.crlf_line && f.lf_line ? 1 : 0;
  // v3's MULTIPART_STRICT_ERROR: every flag but unmatched_boundary and crlf_line.
  f.strict_error =
      (f.error || f.boundary_quoted || f.boundary_whitespace || f.data_before || f.data_after ||
       f.header_folding || f.lf_line || f.missing_semicolon || f.invalid_quoting ||
       f.invalid_part || f.invalid_header_folding || f.file_limit_exceeded)
          ? 1
          : 0;
}

}  // namespace

int MultipartFlags::Get(std::string_view variable) const {
  static constexpr std::pair<std::string_view, int MultipartFlags::*> kFlags[] = {
      {"MULTIPART_STRICT_ERROR", &MultipartFlags::strict_error},
      {"MULTIPART_UNMATCHED_BOUNDARY", &MultipartFlags::unmatched_boundary},
      {"MULTIPART_BOUNDARY_QUOTED", &MultipartFlags::boundary_quoted},
      {"MULTIPART_BOUNDARY_WHITESPACE", &MultipartFlags::boundary_whitespace},
      {"MULTIPART_DATA_BEFORE", &MultipartFlags::data_before},
      {"MULTIPART_DATA_AFTER", &MultipartFlags::data_after},
      {"MULTIPART_HEADER_FOLDING", &MultipartFlags::header_folding},
      {"MULTIPART_LF_LINE", &MultipartFlags::lf_line},
      {"MULTIPART_MISSING_SEMICOLON", &MultipartFlags::missing_semicolon},
      {"MULTIPART_INVALID_QUOTING", &MultipartFlags::invalid_quoting},
      {"MULTIPART_INVALID_PART", &MultipartFlags::invalid_part},
      {"MULTIPART_INVALID_HEADER_FOLDING", &MultipartFlags::invalid_header_folding},
      {"MULTIPART_FILE_LIMIT_EXCEEDED", &MultipartFlags::file_limit_exceeded},
      {"MULTIPART_CRLF_LF_LINES", &MultipartFlags::crlf_lf_lines},
  };
  for (const auto& [name, member] : kFlags) {
    if (EqualsIgnoreCase(name, variable)) return this->*member;
  }
  return -1;
}

int MultipartResult::Flag(std::string_view variable) const {
  if (EqualsIgnoreCase(variable, "REQBODY_ERROR") ||
      EqualsIgnoreCase(variable, "REQBODY_PROCESSOR_ERROR")) {
    return reqbody_error ? 1 : 0;
  }
  return flags.Get(variable);
}

MultipartResult ParseMultipart(std::string_view content_type, std::string_view body,
                               const MultipartLimits& limits) {
  MultipartResult result;
  Parser parser(limits, result);
  // v3 runs multipart_complete even when init fails (the transaction calls both).
  if (parser.Init(content_type)) parser.Process(body);
  parser.Finish();
  return result;
}

}  // namespace rampart::waf
