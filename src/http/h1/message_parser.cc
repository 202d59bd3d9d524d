#include "http/h1/message_parser.h"

#include <boost/beast/http/error.hpp>
#include <cstring>

namespace rampart::http::h1 {

namespace http = boost::beast::http;

namespace {

bool IsChunkedOnly(std::string_view v) { return IEquals(TrimOws(v), "chunked"); }

// Fields that frame or route a request: a Connection header naming one asks the next hop to drop
// it, which would change how the body is delimited or where the request goes (a CL.0 desync).
bool NamesFramingField(std::string_view connection) {
  bool named = false;
  ForEachListToken(connection, [&](std::string_view tok) {
    named = named || IEquals(tok, "content-length") || IEquals(tok, "transfer-encoding") ||
            IEquals(tok, "host");
  });
  return named;
}

// Room on a chunk line for the size's hex digits (leading zeros included) besides the extensions.
constexpr std::size_t kChunkLineOverhead = 32;

constexpr bool IsHexDigit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

template <bool kIsRequest>
MessageParser<kIsRequest>::MessageParser(const ParserLimits& limits, HeaderList& headers,
                                         std::string& body_out)
    : limits_(limits), headers_(headers), body_out_(body_out) {
  headers_.clear();
  body_out_.clear();
  this->header_limit(
      static_cast<std::uint32_t>(std::min<std::uint64_t>(limits.max_header_bytes, 0xffffffffu)));
  if (limits.max_body_bytes > 0)
    this->body_limit(limits.max_body_bytes);
  else
    this->body_limit(boost::none);
  this->eager(false);
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::Fail(ParseFailure f, std::string_view detail,
                                     boost::beast::error_code& ec) {
  failure_ = f;
  detail_ = detail;
  ec = http::error::bad_value;  // any error stops Beast; failure_ says which
}

template <bool kIsRequest>
std::size_t MessageParser<kIsRequest>::Feed(const char* data, std::size_t size) {
  if (failure_ != ParseFailure::kNone || this->is_done()) return 0;
  input_begin_ = data;
  input_end_ = data + size;
  message_start_ = data - consumed_;
  std::size_t total = 0;
  for (;;) {
    boost::beast::error_code ec;
    bool was_header_done = this->is_header_done();
    std::size_t n = this->put(boost::asio::const_buffer(data + total, size - total), ec);
    total += n;
    if (!was_header_done && this->is_header_done() && failure_ == ParseFailure::kNone) {
      head_bytes_ = consumed_ + total;
      // Beast bounds the header section after the start line when the head arrives in one
      // piece, and the whole head when it arrives in several: the whole head, always.
      if (head_bytes_ > limits_.max_header_bytes) {
        HeadTooLarge();
        break;
      }
      method_ = {message_start_ + method_off_, method_len_};
      target_ = {message_start_ + target_off_, target_len_};
      headers_.Resolve(message_start_);
      if (this->is_done()) {
        framing_ = BodyFraming::kNone;
      } else if (this->chunked()) {
        framing_ = BodyFraming::kChunked;
      } else if (auto cl = Base::content_length()) {
        framing_ = *cl > 0 ? BodyFraming::kContentLength : BodyFraming::kNone;
        content_length_ = *cl;
      } else if (this->need_eof()) {
        framing_ = BodyFraming::kUntilClose;
      }
      this->eager(true);
    }
    partial_chunk_line_ = false;
    if (ec == http::error::need_more) {
      if (this->is_header_done() && !this->is_done() && framing_ == BodyFraming::kChunked) {
        CheckPendingChunkLine({data + total, size - total});
      }
      break;
    }
    if (ec) {
      if (failure_ != ParseFailure::kNone) break;
      if (ec == http::error::header_limit) {
        HeadTooLarge();
      } else if (ec == http::error::body_limit) {
        failure_ = kIsRequest ? ParseFailure::kBodyTooLarge : ParseFailure::kBadResponse;
        detail_ = "body larger than the limit";
      } else {
        failure_ = kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse;
        if (ec == http::error::bad_content_length || ec == http::error::multiple_content_length) {
          detail_ = "invalid or conflicting Content-Length";
        } else if (ec == http::error::bad_transfer_encoding) {
          detail_ = "invalid or conflicting Transfer-Encoding";
        } else if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension) {
          detail_ = "malformed chunked body";
        } else if (ec == http::error::bad_line_ending) {
          detail_ = "bare CR or LF";
        } else if (ec == http::error::bad_field || ec == http::error::bad_value) {
          detail_ = "invalid header field";
        } else if (ec == http::error::bad_method || ec == http::error::bad_target ||
                   ec == http::error::bad_version) {
          detail_ = kIsRequest ? "malformed request line" : "malformed status line";
        } else {
          detail_ = "malformed message";
        }
      }
      break;
    }
    if (this->is_done() || total == size || n == 0) break;
  }
  consumed_ += total;
  return total;
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::HeadTooLarge() {
  if (!kIsRequest) {
    failure_ = ParseFailure::kBadResponse;
    detail_ = "header section too large";
    return;
  }
  // A request line longer than its own limit is 414, any other oversized head is 431. Beast may
  // not have parsed the request line yet (with the head in pieces it waits for the whole head),
  // so look at the bytes: they lie contiguous from the message start.
  const std::string_view seen(message_start_,
                              static_cast<std::size_t>(input_end_ - message_start_));
  const std::size_t eol = seen.find("\r\n");
  if (eol == std::string_view::npos || eol > limits_.max_request_line_bytes) {
    failure_ = ParseFailure::kUriTooLong;
    detail_ = "request line too long";
  } else {
    failure_ = ParseFailure::kHeadersTooLarge;
    detail_ = "header section too large";
  }
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::CheckPendingChunkLine(std::string_view pending) {
  // Beast waits for a whole chunk line before it parses one; without a bound here a line could
  // grow with the caller's buffer. The bound is the one on_chunk_header_impl applies to a line
  // that arrived whole (its '\r' may already be here). A pending line that is complete is the
  // last chunk's, waiting for the trailer section: the caller's buffer bounds that.
  if (pending.starts_with("\r\n")) pending.remove_prefix(2);  // the CRLF ending the last chunk
  partial_chunk_line_ = !pending.empty();
  if (pending.find("\r\n") == std::string_view::npos &&
      pending.size() > limits_.max_chunk_extension_bytes + kChunkLineOverhead + 1) {
    failure_ = kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse;
    detail_ = "chunk extension too long";
  }
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::FeedEof() {
  if (failure_ != ParseFailure::kNone || this->is_done()) return;
  boost::beast::error_code ec;
  this->put_eof(ec);
  if (ec && failure_ == ParseFailure::kNone) {
    failure_ = kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse;
    detail_ = "connection closed before the message was complete";
  }
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_request_impl(http::verb, boost::beast::string_view method,
                                                boost::beast::string_view target, int version,
                                                boost::beast::error_code& ec) {
  if (method.size() + target.size() + 10 > limits_.max_request_line_bytes) {
    failure_ = ParseFailure::kUriTooLong;
    detail_ = "request line too long";
    ec = http::error::bad_target;
    return;
  }
  if (version != 10 && version != 11) {
    return Fail(ParseFailure::kBadRequest, "unsupported HTTP version", ec);
  }
  // Origin-form, absolute-form (proxies), or "*" for OPTIONS; authority-form is CONNECT only,
  // which a reverse proxy does not serve.
  if (target.empty() || (target[0] != '/' && target != "*" && !IStartsWith(target, "http://") &&
                         !IStartsWith(target, "https://"))) {
    return Fail(ParseFailure::kBadRequest, "invalid request target", ec);
  }
  // RFC 9112 section 3.2: no form of request-target carries a fragment ('#' is not a valid
  // character in one); HAProxy and Envoy refuse it too. Origins and rules would otherwise each
  // decide where the path ends.
  if (target.find('#') != boost::beast::string_view::npos) {
    return Fail(ParseFailure::kBadRequest, "a fragment in the request target", ec);
  }
  method_off_ = static_cast<std::uint32_t>(method.data() - message_start_);
  method_len_ = static_cast<std::uint32_t>(method.size());
  target_off_ = static_cast<std::uint32_t>(target.data() - message_start_);
  target_len_ = static_cast<std::uint32_t>(target.size());
  version_ = version;
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_response_impl(int code, boost::beast::string_view, int version,
                                                 boost::beast::error_code& ec) {
  if (code < 100 || code > 599) return Fail(ParseFailure::kBadResponse, "invalid status code", ec);
  status_ = code;
  version_ = version;
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_field_impl(http::field f, boost::beast::string_view name,
                                              boost::beast::string_view value,
                                              boost::beast::error_code& ec) {
  if (this->is_header_done()) return;  // trailer fields are parsed, checked by Beast and dropped
  const ParseFailure bad = kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse;
  // Beast unfolds obs-fold into a private buffer: a value outside our input was folded.
  if (!value.empty() && (value.data() < input_begin_ || value.data() >= input_end_)) {
    return Fail(bad, "obsolete line folding", ec);
  }
  // A fold after an empty first line ("Content-Length:\r\n 5") is not copied: the value is the
  // continuation line itself, with the line break between it and the name.
  if (!value.empty() && value.data() > name.data() + name.size() &&
      std::memchr(name.data() + name.size(), '\n',
                  static_cast<std::size_t>(value.data() - (name.data() + name.size()))) !=
          nullptr) {
    return Fail(bad, "obsolete line folding", ec);
  }
  if (headers_.pending_size() >= limits_.max_headers) {
    return Fail(kIsRequest ? ParseFailure::kHeadersTooLarge : ParseFailure::kBadResponse,
                "too many header fields", ec);
  }
  if (f == http::field::content_length) {
    // One Content-Length field with one value: "5, 5" and repeats are refused, not merged.
    if (++content_length_fields_ > 1 ||
        std::string_view(value.data(), value.size()).find(',') != std::string_view::npos) {
      return Fail(bad, "repeated Content-Length", ec);
    }
  } else if (f == http::field::host) {
    ++host_fields_;
  } else if (f == http::field::transfer_encoding) {
    ++transfer_encoding_fields_;
    if (!IsChunkedOnly(std::string_view(value.data(), value.size()))) {
      return Fail(bad, "Transfer-Encoding other than chunked", ec);
    }
    if (kIsRequest && version_ == 10) {
      return Fail(bad, "Transfer-Encoding in an HTTP/1.0 request", ec);
    }
  } else if (kIsRequest && (f == http::field::connection || f == http::field::proxy_connection)) {
    if (NamesFramingField(std::string_view(value.data(), value.size()))) {
      return Fail(bad, "Connection names Content-Length, Transfer-Encoding or Host", ec);
    }
  }
  headers_.AddOffsets({static_cast<std::uint32_t>(name.data() - message_start_),
                       static_cast<std::uint32_t>(name.size()),
                       static_cast<std::uint32_t>(value.data() - message_start_),
                       static_cast<std::uint32_t>(value.size())});
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_header_impl(boost::beast::error_code& ec) {
  if (content_length_fields_ > 0 && transfer_encoding_fields_ > 0) {
    return Fail(kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse,
                "both Content-Length and Transfer-Encoding", ec);
  }
  if (kIsRequest) {
    if (version_ == 11 && host_fields_ == 0) {
      return Fail(ParseFailure::kBadRequest, "missing Host header", ec);
    }
    if (host_fields_ > 1) return Fail(ParseFailure::kBadRequest, "repeated Host header", ec);
  }
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_body_init_impl(const boost::optional<std::uint64_t>&,
                                                  boost::beast::error_code&) {}

template <bool kIsRequest>
std::size_t MessageParser<kIsRequest>::on_body_impl(boost::beast::string_view body,
                                                    boost::beast::error_code&) {
  body_out_.append(body.data(), body.size());
  body_bytes_ += body.size();
  return body.size();
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_chunk_header_impl(std::uint64_t size,
                                                     boost::beast::string_view extensions,
                                                     boost::beast::error_code& ec) {
  // Beast calls this for every chunk, the last (size 0) included, before any trailer.
  const ParseFailure bad = kIsRequest ? ParseFailure::kBadRequest : ParseFailure::kBadResponse;
  // The line is the size's hex digits right before the extensions (Beast allows no space there).
  const char* line = extensions.data();
  while (line > input_begin_ && IsHexDigit(line[-1])) --line;
  const std::size_t line_bytes =
      static_cast<std::size_t>(extensions.data() - line) + extensions.size();
  if (extensions.size() > limits_.max_chunk_extension_bytes ||
      line_bytes > limits_.max_chunk_extension_bytes + kChunkLineOverhead) {
    return Fail(bad, "chunk extension too long", ec);
  }
  chunk_extension_bytes_ += extensions.size();
  if (chunk_extension_bytes_ > limits_.max_chunk_extensions_total) {
    return Fail(bad, "chunk extensions too large in total", ec);
  }
  if (size == 0) last_chunk_seen_ = true;
  if (!rechunk_) return;
  if (in_chunk_) body_out_ += "\r\n";
  in_chunk_ = size != 0;
  body_out_ += fmt::format("{:x}\r\n", size);
  if (size == 0) body_out_ += "\r\n";
}

template <bool kIsRequest>
std::size_t MessageParser<kIsRequest>::on_chunk_body_impl(std::uint64_t,
                                                          boost::beast::string_view body,
                                                          boost::beast::error_code&) {
  body_out_.append(body.data(), body.size());
  body_bytes_ += body.size();
  return body.size();
}

template <bool kIsRequest>
void MessageParser<kIsRequest>::on_finish_impl(boost::beast::error_code&) {}

template class MessageParser<true>;
template class MessageParser<false>;

}  // namespace rampart::http::h1
