// libFuzzer target: multipart/form-data bodies (ParseMultipart). The first line of the input is
// the Content-Type header value, the rest the body; the parse runs with default limits and with
// tiny ones. Checks the invariants the WAF engine relies on, not just the absence of crashes.
#include <cstdint>
#include <string_view>

#include "gates/waf/multipart.h"

namespace {

void Check(const rampart::waf::MultipartResult& r, std::string_view body) {
  const rampart::waf::MultipartFlags& f = r.flags;
  for (const int v : {f.boundary_quoted, f.boundary_whitespace, f.data_before, f.data_after,
                      f.header_folding, f.lf_line, f.crlf_line, f.missing_semicolon,
                      f.invalid_quoting, f.invalid_part, f.invalid_header_folding,
                      f.file_limit_exceeded, f.crlf_lf_lines, f.error, f.strict_error}) {
    if (v != 0 && v != 1) __builtin_trap();
  }
  if (f.unmatched_boundary < 0 || f.unmatched_boundary > 2) __builtin_trap();
  const bool any = f.error || f.boundary_quoted || f.boundary_whitespace || f.data_before ||
                   f.data_after || f.header_folding || f.lf_line || f.missing_semicolon ||
                   f.invalid_quoting || f.invalid_part || f.invalid_header_folding ||
                   f.file_limit_exceeded;
  if (f.strict_error != (any ? 1 : 0)) __builtin_trap();
  if (f.crlf_lf_lines != (f.crlf_line && f.lf_line ? 1 : 0)) __builtin_trap();
  if (r.reqbody_error == r.reqbody_error_msg.empty()) __builtin_trap();
  if (r.Flag("MULTIPART_STRICT_ERROR") != f.strict_error) __builtin_trap();
  // Content comes from the body: values and file sizes cannot add up to more than it.
  std::size_t total = 0;
  for (const auto& a : r.args) total += a.value.size();
  std::size_t files = 0;
  for (const auto& file : r.files) files += file.size;
  if (files != r.combined_file_size || total + files > body.size()) __builtin_trap();
  if (r.no_files_bytes > body.size()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 256 * 1024) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view content_type = nl == std::string_view::npos ? input : input.substr(0, nl);
  const std::string_view body =
      nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  Check(rampart::waf::ParseMultipart(content_type, body), body);
  rampart::waf::MultipartLimits tiny;
  tiny.max_parts = 3;
  tiny.max_files = 1;
  tiny.max_header_bytes = 200;
  Check(rampart::waf::ParseMultipart(content_type, body, tiny), body);
  return 0;
}
