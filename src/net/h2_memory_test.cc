#include "net/h2_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace rampart::net {
namespace {

TEST(H2Memory, BlocksAreAlignedAndCallocZeroes) {
  nghttp2_mem* m = H2Memory();
  void* a = m->malloc(24, m->mem_user_data);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u);
  std::memset(a, 0xAB, 24);
  m->free(a, m->mem_user_data);
  auto* z = static_cast<unsigned char*>(m->calloc(10, 7, m->mem_user_data));
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(z[i], 0) << i;
  m->free(z, m->mem_user_data);
  EXPECT_EQ(m->calloc(SIZE_MAX / 2, 4, m->mem_user_data), nullptr);  // n * size overflows
  m->free(nullptr, m->mem_user_data);
}

TEST(H2Memory, ReallocKeepsTheBytesAndGrows) {
  nghttp2_mem* m = H2Memory();
  auto* p = static_cast<char*>(m->realloc(nullptr, 8, m->mem_user_data));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "abcdefgh", 8);
  p = static_cast<char*>(m->realloc(p, 4, m->mem_user_data));  // shrinking keeps the block
  EXPECT_EQ(std::memcmp(p, "abcd", 4), 0);
  p = static_cast<char*>(m->realloc(p, 5000, m->mem_user_data));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, "abcdefgh", 8), 0);
  p[4999] = 'z';
  m->free(p, m->mem_user_data);
}

}  // namespace
}  // namespace rampart::net
