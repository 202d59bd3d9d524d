// A bounded record of an HTTP/2 server connection's recently closed streams, and the answer a
// frame arriving on one of them gets (RFC 9113 section 5.1).
//
// nghttp2 forgets a stream the moment it closes (rampart keeps no closed streams in nghttp2's
// priority tree), so a DATA or HEADERS frame on a closed stream would otherwise be dropped in
// silence. What the client did decides the answer:
// - it ended the stream (END_STREAM), then sent more: connection error STREAM_CLOSED;
// - it reset the stream, then sent more: stream error STREAM_CLOSED;
// - rampart reset the stream before the client had finished: frames the client sent before it
//   saw the reset may still arrive, and are ignored (section 5.1, "closed");
// - a HEADERS frame on a stream id lower than one already opened that was never opened:
//   connection error PROTOCOL_ERROR (section 5.1.1).
// The record keeps the last kCapacity closures; a frame for a stream older than all of them is
// ignored, which is what nghttp2 alone would do.
#pragma once

#include <array>
#include <cstdint>

namespace rampart::downstream {

enum class ClosedHow : std::uint8_t {
  kLocalReset,   // rampart (or nghttp2 for it) ended the stream before the client finished
  kRemoteEnded,  // the client had sent END_STREAM
  kRemoteReset,  // the client sent RST_STREAM
};

enum class LateFrameAnswer : std::uint8_t {
  kNone,                 // not a late frame, or one to ignore
  kResetStreamClosed,    // RST_STREAM(STREAM_CLOSED) on that stream
  kGoawayStreamClosed,   // GOAWAY(STREAM_CLOSED)
  kGoawayProtocolError,  // GOAWAY(PROTOCOL_ERROR)
};

class ClosedStreams {
 public:
  static constexpr std::size_t kCapacity = 32;

  // Records a closure; a stream already recorded takes the latest word (one entry per id).
  void Closed(std::int32_t id, ClosedHow how) noexcept;
  // A HEADERS frame opened stream `id` (the highest seen so far when it is new).
  void Opened(std::int32_t id) noexcept {
    if (id > highest_opened_) highest_opened_ = id;
  }
  std::int32_t highest_opened() const noexcept { return highest_opened_; }

  // The answer to a DATA or HEADERS frame (`headers`) from the client on stream `id`, which
  // nghttp2 holds no open stream for. New streams (above every id opened) are not late frames.
  LateFrameAnswer Judge(std::int32_t id, bool headers) const noexcept;

 private:
  struct Entry {
    std::int32_t id = 0;
    ClosedHow how = ClosedHow::kLocalReset;
  };
  std::array<Entry, kCapacity> ring_{};
  std::uint32_t next_ = 0;
  std::int32_t evicted_max_ = 0;  // the highest id that has left the record
  std::int32_t highest_opened_ = 0;
};

}  // namespace rampart::downstream
