// Strict HTTP/1.1 message parser (RFC 9112) on top of Boost.Beast's basic_parser. Beast tokenizes;
// this class adds the smuggling defences Beast leaves to the caller (repeated Content-Length,
// Transfer-Encoding other than a lone "chunked", obs-fold, header count) and exposes the head as
// views into the caller's buffer and the body as pieces ready to forward.
//
// Use: Feed() the bytes read so far until header_done(); the head's views stay valid while those
// bytes stay in place. Then Feed() body bytes; after each call, write body_out() and clear it.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace rampart::http::h1 {

struct ParserLimits {
  std::uint64_t max_request_line_bytes = 8 * 1024;  // requests only
  std::uint64_t max_header_bytes = 32 * 1024;
  std::uint32_t max_headers = 100;
  std::uint64_t max_body_bytes = 10 * 1024 * 1024;  // 0 = unlimited
  // Chunk extensions (RFC 9112 section 7.1.1) are parsed and dropped; they are bounded so that a
  // body cannot carry unlimited bytes past the body limit: per chunk line and per message.
  std::uint32_t max_chunk_extension_bytes = 4 * 1024;
  std::uint64_t max_chunk_extensions_total = 1024 * 1024;
};

// How the body is delimited on the wire.
enum class BodyFraming : std::uint8_t { kNone, kContentLength, kChunked, kUntilClose };

template <bool kIsRequest>
class MessageParser final : public boost::beast::http::basic_parser<kIsRequest> {
 public:
  // `headers` and `body_out` belong to the caller (reused across messages); both are cleared here.
  MessageParser(const ParserLimits& limits, HeaderList& headers, std::string& body_out);

  // Consumes a prefix of [data, data+size). Returns the bytes consumed. When it returns with
  // failure() != kNone, the message is unusable and the connection must close.
  // Contract: the bytes consumed by earlier calls for this message lie immediately before `data`
  // (the buffer may have moved as a whole). The head's views are made when it is complete and
  // stay valid while the head bytes stay where they were then.
  std::size_t Feed(const char* data, std::size_t size);
  // The peer closed the connection: completes a close-delimited body.
  void FeedEof();

  ParseFailure failure() const noexcept { return failure_; }
  std::string_view failure_detail() const noexcept { return detail_; }
  bool header_done() const noexcept { return this->is_header_done(); }
  bool done() const noexcept { return this->is_done(); }

  // Head (valid after header_done()).
  std::string_view method() const noexcept { return method_; }
  std::string_view target() const noexcept { return target_; }
  int status() const noexcept { return status_; }
  int version() const noexcept { return version_; }  // 10 or 11
  const HeaderList& headers() const noexcept { return headers_; }
  // A response to HEAD (or a 1xx/204/304) has no body whatever its headers say.
  void set_no_body() { this->skip(true); }
  BodyFraming framing() const noexcept { return framing_; }
  std::uint64_t content_length() const noexcept { return content_length_; }
  bool keep_alive() const noexcept {
    return this->boost::beast::http::basic_parser<kIsRequest>::keep_alive();
  }
  std::size_t head_bytes() const noexcept { return head_bytes_; }

  // Body bytes decoded since the last clear, re-framed for forwarding: for Content-Length bodies
  // the raw bytes; for chunked ones the chunks re-encoded (extensions and trailers dropped) when
  // rechunk is true, or the decoded bytes when false.
  void set_rechunk(bool rechunk) noexcept { rechunk_ = rechunk; }
  std::string& body_out() noexcept { return body_out_; }
  bool chunked_done() const noexcept { return last_chunk_seen_; }
  // After Feed: the bytes it left unconsumed begin a chunk line (or a trailer section) that has
  // not ended yet.
  bool partial_chunk_line() const noexcept { return partial_chunk_line_; }
  std::uint64_t body_bytes() const noexcept { return body_bytes_; }

 private:
  using Base = boost::beast::http::basic_parser<kIsRequest>;
  void Fail(ParseFailure f, std::string_view detail, boost::beast::error_code& ec);
  // The body waits for the end of a chunk line or of the trailer section in `pending` (bytes not
  // consumed): fails once that line or section is longer than it may be.
  void CheckPendingChunkLine(std::string_view pending);
  // The head is over its limit: 414 when the request line is, else 431 (502 for a response).
  void HeadTooLarge();

  void on_request_impl(boost::beast::http::verb, boost::beast::string_view method,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override;
  void on_response_impl(int code, boost::beast::string_view reason, int version,
                        boost::beast::error_code& ec) override;
  void on_field_impl(boost::beast::http::field f, boost::beast::string_view name,
                     boost::beast::string_view value, boost::beast::error_code& ec) override;
  void on_header_impl(boost::beast::error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         boost::beast::error_code& ec) override;
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t size, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override;
  std::size_t on_chunk_body_impl(std::uint64_t remain, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override;
  void on_finish_impl(boost::beast::error_code& ec) override;

  ParserLimits limits_;
  ParseFailure failure_ = ParseFailure::kNone;
  std::string_view detail_;
  const char* input_begin_ = nullptr;
  const char* input_end_ = nullptr;
  const char* message_start_ = nullptr;
  std::size_t consumed_ = 0;

  std::uint32_t method_off_ = 0, method_len_ = 0, target_off_ = 0, target_len_ = 0;
  std::string_view method_;
  std::string_view target_;
  int status_ = 0;
  int version_ = 11;
  HeaderList& headers_;
  std::uint32_t content_length_fields_ = 0;
  std::uint32_t transfer_encoding_fields_ = 0;
  std::uint32_t host_fields_ = 0;
  BodyFraming framing_ = BodyFraming::kNone;
  std::uint64_t content_length_ = 0;
  std::size_t head_bytes_ = 0;
  bool partial_chunk_line_ = false;
  std::uint64_t chunk_extension_bytes_ = 0;

  bool rechunk_ = true;
  bool in_chunk_ = false;
  bool last_chunk_seen_ = false;
  std::string& body_out_;
  std::uint64_t body_bytes_ = 0;
};

using RequestParser = MessageParser<true>;
using ResponseParser = MessageParser<false>;

}  // namespace rampart::http::h1
