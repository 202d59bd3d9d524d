#include "core/c_memory.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "net/h2_memory.h"

namespace rampart::core {
namespace {

TEST(CMemory, BlocksAreAlignedAndCallocZeroes) {
  void* a = CMalloc(24);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u);
  std::memset(a, 0xAB, 24);
  CFree(a);
  auto* z = static_cast<unsigned char*>(CCalloc(10, 7));
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 70; ++i) EXPECT_EQ(z[i], 0) << i;
  CFree(z);
  EXPECT_EQ(CCalloc(SIZE_MAX / 2, 4), nullptr);  // n * size overflows
  EXPECT_EQ(CMalloc(SIZE_MAX - 8), nullptr);     // the size in front would overflow
  CFree(nullptr);
}

TEST(CMemory, ReallocKeepsTheBytesGrowsAndFreesAtZero) {
  auto* p = static_cast<char*>(CRealloc(nullptr, 8));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "abcdefgh", 8);
  p = static_cast<char*>(CRealloc(p, 4));  // shrinking keeps the block
  EXPECT_EQ(std::memcmp(p, "abcd", 4), 0);
  p = static_cast<char*>(CRealloc(p, 5000));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, "abcdefgh", 8), 0);
  p[4999] = 'z';
  EXPECT_EQ(CRealloc(p, 0), nullptr);  // frees it, as OpenSSL's CRYPTO_realloc does
}

TEST(CMemory, Nghttp2sFunctionsAreThese) {
  nghttp2_mem* m = net::H2Memory();
  auto* p = static_cast<char*>(m->malloc(16, m->mem_user_data));
  ASSERT_NE(p, nullptr);
  std::memcpy(p, "0123456789abcdef", 16);
  p = static_cast<char*>(m->realloc(p, 3000, m->mem_user_data));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, "0123456789abcdef", 16), 0);
  CFree(p);  // a block from one frees through the other
  auto* z = static_cast<unsigned char*>(m->calloc(4, 4, m->mem_user_data));
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(z[i], 0) << i;
  m->free(z, m->mem_user_data);
}

}  // namespace
}  // namespace rampart::core
