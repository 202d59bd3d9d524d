#include "downstream/closed_streams.h"

#include <algorithm>

namespace rampart::downstream {

void ClosedStreams::Closed(std::int32_t id, ClosedHow how) noexcept {
  for (Entry& e : ring_) {
    if (e.id == id) {  // rampart answered a late frame with RST_STREAM: from now on, frames
      e.how = how;     // still on their way are ignored (section 5.1), and no entry is doubled
      return;
    }
  }
  Entry& e = ring_[next_ % kCapacity];
  if (e.id != 0) evicted_max_ = std::max(evicted_max_, e.id);
  e = {id, how};
  ++next_;
}

LateFrameAnswer ClosedStreams::Judge(std::int32_t id, bool headers) const noexcept {
  if (id <= 0 || id % 2 == 0 || id > highest_opened_) return LateFrameAnswer::kNone;
  for (const Entry& e : ring_) {
    if (e.id != id) continue;
    switch (e.how) {
      case ClosedHow::kRemoteEnded:
        return LateFrameAnswer::kGoawayStreamClosed;
      case ClosedHow::kRemoteReset:
        return LateFrameAnswer::kResetStreamClosed;
      case ClosedHow::kLocalReset:
        return LateFrameAnswer::kNone;
    }
  }
  // Not in the record: never opened if every stream that left the record was lower.
  if (headers && id > evicted_max_) return LateFrameAnswer::kGoawayProtocolError;
  return LateFrameAnswer::kNone;
}

}  // namespace rampart::downstream
