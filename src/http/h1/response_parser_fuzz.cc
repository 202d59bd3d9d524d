// libFuzzer target: arbitrary bytes as an upstream response, then EOF.
#include <cstdint>
#include <string>

#include "http/h1/message_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;
  rampart::http::HeaderList headers;
  std::string body;
  rampart::http::h1::ParserLimits limits{0, 4096, 64, 0};
  rampart::http::h1::ResponseParser p(limits, headers, body);
  p.set_rechunk(size % 2 == 0);
  const char* in = reinterpret_cast<const char*>(data);
  std::size_t used = p.Feed(in, size);
  if (p.header_done() && used < size) p.Feed(in + used, size - used);
  p.FeedEof();
  return 0;
}
