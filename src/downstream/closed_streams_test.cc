#include "downstream/closed_streams.h"

#include <gtest/gtest.h>

namespace rampart::downstream {
namespace {

using A = LateFrameAnswer;

TEST(ClosedStreams, AFrameAfterTheClientEndedTheStreamIsAConnectionError) {
  ClosedStreams c;
  c.Opened(1);
  c.Closed(1, ClosedHow::kRemoteEnded);
  EXPECT_EQ(c.Judge(1, /*headers=*/false), A::kGoawayStreamClosed);
  EXPECT_EQ(c.Judge(1, /*headers=*/true), A::kGoawayStreamClosed);
}

TEST(ClosedStreams, AFrameAfterTheClientResetTheStreamIsAStreamError) {
  ClosedStreams c;
  c.Opened(3);
  c.Closed(3, ClosedHow::kRemoteReset);
  EXPECT_EQ(c.Judge(3, false), A::kResetStreamClosed);
  EXPECT_EQ(c.Judge(3, true), A::kResetStreamClosed);
}

TEST(ClosedStreams, AfterAnsweringALateFrameWithResetLaterOnesAreIgnored) {
  ClosedStreams c;
  c.Opened(3);
  c.Closed(3, ClosedHow::kRemoteReset);
  ASSERT_EQ(c.Judge(3, false), A::kResetStreamClosed);
  c.Closed(3, ClosedHow::kLocalReset);  // rampart sent RST_STREAM(STREAM_CLOSED)
  EXPECT_EQ(c.Judge(3, false), A::kNone);
  // One entry per id: the record still remembers 31 other streams.
  for (std::int32_t id = 5; id < 5 + 2 * 31; id += 2) {
    c.Opened(id);
    c.Closed(id, ClosedHow::kRemoteEnded);
  }
  EXPECT_EQ(c.Judge(3, false), A::kNone);
  EXPECT_EQ(c.Judge(5, false), A::kGoawayStreamClosed);
}

TEST(ClosedStreams, FramesStillInFlightAfterRampartsOwnResetAreIgnored) {
  ClosedStreams c;
  c.Opened(5);
  c.Closed(5, ClosedHow::kLocalReset);
  EXPECT_EQ(c.Judge(5, false), A::kNone);
  EXPECT_EQ(c.Judge(5, true), A::kNone);
}

TEST(ClosedStreams, HeadersOnALowerStreamThatWasNeverOpenedIsAProtocolError) {
  ClosedStreams c;
  c.Opened(5);
  EXPECT_EQ(c.Judge(3, true), A::kGoawayProtocolError);
  // DATA there is dropped as nghttp2 drops it (the stream may have been refused).
  EXPECT_EQ(c.Judge(3, false), A::kNone);
}

TEST(ClosedStreams, NewStreamsEvenIdsAndStreamZeroAreNotLateFrames) {
  ClosedStreams c;
  c.Opened(5);
  EXPECT_EQ(c.Judge(7, true), A::kNone);
  EXPECT_EQ(c.Judge(2, true), A::kNone);
  EXPECT_EQ(c.Judge(0, false), A::kNone);
}

TEST(ClosedStreams, StreamsOlderThanTheRecordAreIgnored) {
  ClosedStreams c;
  std::int32_t id = 1;
  for (std::size_t i = 0; i < ClosedStreams::kCapacity + 4; ++i, id += 2) {
    c.Opened(id);
    c.Closed(id, ClosedHow::kRemoteEnded);
  }
  EXPECT_EQ(c.Judge(1, false), A::kNone);  // left the record: unknown, so ignored
  EXPECT_EQ(c.Judge(1, true), A::kNone);
  EXPECT_EQ(c.Judge(id - 2, false), A::kGoawayStreamClosed);  // the newest is remembered
}

}  // namespace
}  // namespace rampart::downstream
