#include "http/message.h"

#include <gtest/gtest.h>

#include <string>

namespace rampart::http {
namespace {

TEST(HeaderListTest, CopiedFieldsResolveAfterTheirBytesMoved) {
  HeaderList list;
  std::string bytes;
  list.AppendCopy(bytes, "content-type", "text/plain");
  bytes.reserve(bytes.capacity() * 4);  // the block moves while more fields arrive
  list.AppendCopy(bytes, "grpc-status", "0");
  EXPECT_EQ(list.size(), 0u);  // nothing visible until resolved
  list.Resolve(bytes.data());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list.Get("Content-Type"), "text/plain");
  EXPECT_EQ(list[1].name, "grpc-status");
  EXPECT_EQ(list[1].value, "0");
}

}  // namespace
}  // namespace rampart::http
