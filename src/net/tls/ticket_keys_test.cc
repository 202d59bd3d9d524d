#include "net/tls/ticket_keys.h"

#include <gtest/gtest.h>

namespace rampart::tls {
namespace {

TEST(TicketKeys, RotatesOnScheduleAndOldKeysStillDecrypt) {
  TicketKeys& keys = TicketKeys::Instance();
  const std::int64_t t0 = 4'000'000'000;  // far from any real clock the server may have used
  ASSERT_TRUE(keys.Rotate(t0, 3600, 3 * 3600));
  TicketKeys::Key first;
  ASSERT_TRUE(keys.Newest(&first));
  EXPECT_FALSE(keys.Rotate(t0 + 3599, 3600, 3 * 3600));  // not yet
  EXPECT_TRUE(keys.Rotate(t0 + 3600, 3600, 3 * 3600));
  TicketKeys::Key second, found;
  ASSERT_TRUE(keys.Newest(&second));
  EXPECT_NE(first.name, second.name);
  EXPECT_EQ(keys.Find(second.name.data(), &found), 1);  // current: keep the ticket
  EXPECT_EQ(keys.Find(first.name.data(), &found), 2);   // previous: decrypt, then renew
  EXPECT_EQ(found.aes, first.aes);
  // Three hours after it was made, the first key is gone: its tickets mean a full handshake.
  keys.Rotate(t0 + 3 * 3600, 3600, 3 * 3600);
  EXPECT_EQ(keys.Find(first.name.data(), &found), 0);
  EXPECT_EQ(keys.Find(second.name.data(), &found), 2);
}

}  // namespace
}  // namespace rampart::tls
