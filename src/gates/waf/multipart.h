// multipart/form-data request bodies, parsed the way ModSecurity v3 (libmodsecurity's
// RequestBodyProcessor::Multipart) parses them, so the values and flags CRS and the
// recommended ModSecurity rules inspect (ARGS_POST, FILES*, MULTIPART_*, REQBODY_ERROR) come
// out as v3 computes them. Differences from v3 are listed in multipart.cc's header comment.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gates/waf/arg.h"

namespace rampart::waf {

struct MultipartLimits {
  // Ours (v3 has none): parts beyond this stop the parse with REQBODY_ERROR. 0 = no limit.
  std::size_t max_parts = 1000;
  // SecUploadFileLimit: file parts beyond this set MULTIPART_FILE_LIMIT_EXCEEDED and
  // REQBODY_ERROR; they are still listed in FILES. 0 = no limit. (v2's documented default is
  // 100; v3 applies the limit only when it stores files on disk, see multipart.cc.)
  std::size_t max_files = 100;
  // Ours: bytes of header lines one part may have. v3 only bounds each line (4096 bytes).
  // Beyond it the parse stops with REQBODY_ERROR. 0 = no limit.
  std::size_t max_header_bytes = 64 * 1024;
};

struct MultipartFile {
  std::string name;          // the field name: the key of FILES, FILES_NAMES, FILES_SIZES
  std::string filename;      // FILES:<name>, as the client sent it (not decoded, path kept)
  std::size_t size = 0;      // FILES_SIZES:<name>, bytes of content
  std::string content_type;  // the part's Content-Type header value, "" when absent

  friend bool operator==(const MultipartFile&, const MultipartFile&) = default;
};

// v3's multipart flags, as the variables of the same names report them. Each is 0 or 1, except
// unmatched_boundary, which v3 sets to 2 when a real boundary follows at least one other (see
// multipart.cc): rules test it with "@eq 1".
struct MultipartFlags {
  int strict_error = 0;  // MULTIPART_STRICT_ERROR: v3's OR of the flags below (see Finish)
  int unmatched_boundary = 0;
  int boundary_quoted = 0;
  int boundary_whitespace = 0;
  int data_before = 0;
  int data_after = 0;
  int header_folding = 0;
  int lf_line = 0;
  int crlf_line = 0;  // no variable of its own; MULTIPART_CRLF_LF_LINES = crlf_line && lf_line
  int missing_semicolon = 0;
  int invalid_quoting = 0;
  int invalid_part = 0;
  int invalid_header_folding = 0;
  int file_limit_exceeded = 0;
  int crlf_lf_lines = 0;
  // v3's m_flag_error: a fatal problem with the Content-Type or the framing. Part of
  // MULTIPART_STRICT_ERROR; no variable of its own.
  int error = 0;

  // The flag a variable name stands for ("MULTIPART_LF_LINE", any case); -1 if unknown.
  int Get(std::string_view variable) const;
};

struct MultipartResult {
  std::vector<Arg> args;             // ARGS_POST (and ARGS): non-file parts, in order
  std::vector<MultipartFile> files;  // FILES / FILES_NAMES / FILES_SIZES, in order
  // MULTIPART_PART_HEADERS: name = the part's field name, value = one header line as the
  // client sent it, without its line ending (a folded header as "Name: value value2").
  std::vector<Arg> part_headers;
  std::vector<std::string> filenames;  // MULTIPART_FILENAME: every filename= seen
  std::vector<std::string> names;      // MULTIPART_NAME: every name= seen
  MultipartFlags flags;
  // REQBODY_ERROR / REQBODY_PROCESSOR_ERROR, and v3's message (the engine prefixes
  // "Multipart parsing error: " for REQBODY_ERROR_MSG).
  bool reqbody_error = false;
  std::string reqbody_error_msg;
  // v3's m_reqbody_no_files_length, for SecRequestBodyNoFilesLimit: part header bytes plus
  // non-file content bytes.
  std::size_t no_files_bytes = 0;
  std::size_t combined_file_size = 0;  // FILES_COMBINED_SIZE

  // MultipartFlags::Get, plus REQBODY_ERROR and REQBODY_PROCESSOR_ERROR. -1 if unknown.
  int Flag(std::string_view variable) const;
};

// Parses `body` as sent with Content-Type `content_type` (the whole header value, e.g.
// "multipart/form-data; boundary=xyz"). Never fails outright: problems are reported through
// reqbody_error and the flags, and whatever parts were complete are returned. Linear time;
// memory linear in the body and bounded by `limits`. Never throws except std::bad_alloc.
MultipartResult ParseMultipart(std::string_view content_type, std::string_view body,
                               const MultipartLimits& limits = {});

}  // namespace rampart::waf
