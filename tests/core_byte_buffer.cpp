// The transports' write buffer: order, sliding, growth, and giving memory back.

#include <gtest/gtest.h>

#include <string>

#include "core/byte_buffer.hpp"

namespace {

using aiocpp::detail::ByteBuffer;

TEST(ByteBuffer, KeepsBytesInOrderAcrossSlidesAndGrowth) {
  ByteBuffer buffer;
  std::string expected;
  for (int round = 0; round < 200; ++round) {
    std::string chunk(1000 + round * 37, static_cast<char>('a' + round % 26));
    buffer.append(chunk);
    expected += chunk;
    std::size_t take = expected.size() / 3;
    EXPECT_EQ(std::string(buffer.data(), take), expected.substr(0, take));
    buffer.consume(take);
    expected.erase(0, take);
    ASSERT_EQ(buffer.size(), expected.size());
  }
  EXPECT_EQ(std::string(buffer.data(), buffer.size()), expected);
}

TEST(ByteBuffer, ASmallBlockIsKeptForTheNextBurst) {
  ByteBuffer buffer;
  buffer.append(std::string(20000, 'x'));
  std::size_t capacity = buffer.capacity();
  buffer.consume(20000);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.capacity(), capacity) << "steady state must not allocate again";
}

TEST(ByteBuffer, ABlockGrownByABurstIsGivenBackOnceDrained) {
  ByteBuffer buffer;
  buffer.append(std::string(4 << 20, 'x'));
  EXPECT_GE(buffer.capacity(), std::size_t{4} << 20);
  buffer.consume(1 << 20);
  EXPECT_GE(buffer.capacity(), std::size_t{4} << 20) << "not while bytes remain";
  buffer.consume(3 << 20);
  EXPECT_EQ(buffer.capacity(), 0u);
  buffer.append("again");
  EXPECT_EQ(std::string(buffer.data(), buffer.size()), "again");
}

TEST(ByteBuffer, AFirstSizeBlockGoesBackToTheThreadsPoolOnceDrained) {
  ByteBuffer first;
  first.append(std::string(64, 'x'));
  EXPECT_EQ(first.capacity(), ByteBuffer::first_capacity);
  const char* block = first.data();
  first.consume(32);
  EXPECT_EQ(first.capacity(), ByteBuffer::first_capacity) << "not while bytes remain";
  first.consume(32);
  EXPECT_EQ(first.capacity(), 0u) << "an idle buffer holds no memory";
  ByteBuffer next;
  next.append("again");
  EXPECT_EQ(next.data(), block) << "the next buffer takes the block back: no allocation";
  EXPECT_EQ(std::string(next.data(), next.size()), "again");
}

}  // namespace
