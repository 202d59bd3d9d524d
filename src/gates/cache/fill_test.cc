// A cache fill read as it arrives: readers see each piece once, the end once the declared length
// is complete, and a cut (an aborted or overlong answer) as a failure.
#include "gates/cache/fill.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace rampart::cache {
namespace {

namespace asio = boost::asio;

std::shared_ptr<Fill> MakeFill(std::uint64_t length) {
  return std::make_shared<Fill>(200, std::vector<std::pair<std::string, std::string>>{}, length,
                                std::vector<std::string>{}, std::string(), std::chrono::seconds(5));
}

// Reads the whole body as a client would; returns it, or "CUT" when the fill failed.
asio::awaitable<std::string> ReadAll(std::shared_ptr<Fill> f, std::vector<std::string>* pieces) {
  std::string body;
  bool end = false;
  while (!end) {
    std::string piece;
    if (!co_await f->Read(body.size(), piece, end)) co_return "CUT";
    if (pieces != nullptr) pieces->push_back(piece);
    body += piece;
  }
  co_return body;
}

TEST(CacheFill, ReadersGetThePiecesAsTheyArriveAndTheEndOnce) {
  asio::io_context io;
  auto fill = MakeFill(9);
  std::vector<std::string> pieces;
  std::string got;
  asio::co_spawn(io, ReadAll(fill, &pieces), [&](std::exception_ptr, std::string b) { got = b; });
  asio::post(io, [&] { fill->Append("abc"); });
  // The reader waits, then gets the first piece alone.
  while (pieces.empty() && io.run_one() > 0) {
  }
  ASSERT_FALSE(pieces.empty());
  EXPECT_EQ(pieces[0], "abc");
  asio::post(io, [&] {
    fill->Append("def");
    fill->Append("ghi");
    fill->End(true);
  });
  io.run();
  EXPECT_EQ(got, "abcdefghi");
  EXPECT_GE(pieces.size(), 2u);  // not one piece at the end
}

TEST(CacheFill, AReaderThatComesLateGetsItAll) {
  asio::io_context io;
  auto fill = MakeFill(4);
  fill->Append("ab");
  fill->Append("cd");
  fill->End(true);
  std::string got;
  asio::co_spawn(io, ReadAll(fill, nullptr), [&](std::exception_ptr, std::string b) { got = b; });
  io.run();
  EXPECT_EQ(got, "abcd");
}

TEST(CacheFill, ACutAnswerFailsItsReaders) {
  asio::io_context io;
  auto fill = MakeFill(10);
  std::string got;
  asio::co_spawn(io, ReadAll(fill, nullptr), [&](std::exception_ptr, std::string b) { got = b; });
  asio::post(io, [&] {
    fill->Append("abc");
    fill->End(false);  // the origin reset the leader's stream
  });
  io.run();
  EXPECT_EQ(got, "CUT");
}

TEST(CacheFill, AnAnswerShorterOrLongerThanDeclaredIsCut) {
  for (const std::string body : {"abc", "abcdefgh"}) {
    asio::io_context io;
    auto fill = MakeFill(5);
    std::string got;
    asio::co_spawn(io, ReadAll(fill, nullptr), [&](std::exception_ptr, std::string b) { got = b; });
    asio::post(io, [&, body] {
      fill->Append(body);
      fill->End(true);
    });
    io.run();
    EXPECT_EQ(got, "CUT") << body;
  }
}

TEST(CacheFill, AStalledAnswerFailsItsReaderAfterTheWait) {
  asio::io_context io;
  auto fill = std::make_shared<Fill>(200, std::vector<std::pair<std::string, std::string>>{}, 5,
                                     std::vector<std::string>{}, std::string(),
                                     std::chrono::milliseconds(20));
  std::string got;
  asio::co_spawn(io, ReadAll(fill, nullptr), [&](std::exception_ptr, std::string b) { got = b; });
  io.run();  // nothing ever arrives
  EXPECT_EQ(got, "CUT");
}

}  // namespace
}  // namespace rampart::cache
