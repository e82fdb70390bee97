// StreamReader fed directly (no socket): asyncio's test_streams reader
// behaviour — read / readline / readexactly / readuntil, limits, EOF,
// exceptions, and long lines arriving in many pieces.

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "aiocpp/streams.hpp"
#include "test_support.hpp"

using namespace aiocpp;

namespace {

class Reader : public aiocpp::testing::LoopTest {
 protected:
  template <class T>
  T run(Task<T> t) {
    auto bounded = [](Task<T> t) -> Task<T> { co_return co_await wait_for(std::move(t), 5.0); };
    return loop_->run_until_complete(bounded(std::move(t)));
  }
};

// Feeds `chunks` one per loop iteration, then EOF.
Task<void> feed_later(StreamReader& r, std::vector<std::string> chunks, bool eof) {
  for (auto& c : chunks) {
    co_await yield_now();
    r.feed_data(c);
  }
  if (eof) r.feed_eof();
}

TEST_F(Reader, ReadReturnsWhatIsBufferedAndMinusOneReadsToEof) {
  auto body = []() -> Task<void> {
    StreamReader r;
    r.feed_data("hello world");
    EXPECT_EQ(co_await r.read(5), "hello");
    EXPECT_EQ(co_await r.read(100), " world");
    EXPECT_EQ(co_await r.read(0), "");
    (void)get_running_loop().create_task(feed_later(r, {"a", "b", "c"}, true));
    EXPECT_EQ(co_await r.read(-1), "abc");
    EXPECT_TRUE(r.at_eof());
    EXPECT_EQ(co_await r.read(10), "");
  };
  run(body());
}

TEST_F(Reader, ReadlineKeepsTheNewlineAndReturnsThePartialLineAtEof) {
  auto body = []() -> Task<void> {
    StreamReader r;
    (void)get_running_loop().create_task(feed_later(r, {"li", "ne1\nline", "2\nrest"}, true));
    EXPECT_EQ(co_await r.readline(), "line1\n");
    EXPECT_EQ(co_await r.readline(), "line2\n");
    EXPECT_EQ(co_await r.readline(), "rest");
    EXPECT_EQ(co_await r.readline(), "");
    EXPECT_TRUE(r.at_eof());
  };
  run(body());
}

TEST_F(Reader, ReadexactlyRaisesIncompleteReadErrorWithThePartialBytes) {
  auto body = []() -> Task<void> {
    StreamReader r;
    (void)get_running_loop().create_task(feed_later(r, {"12", "345", "67"}, true));
    EXPECT_EQ(co_await r.readexactly(4), "1234");
    bool raised = false;
    try {
      (void)co_await r.readexactly(10);
    } catch (const IncompleteReadError& e) {
      raised = true;
      EXPECT_EQ(e.partial(), "567");
      EXPECT_EQ(e.expected(), 10u);
    }
    EXPECT_TRUE(raised);
    bool negative = false;
    try {
      (void)co_await r.readexactly(-1);
    } catch (const ValueError&) {
      negative = true;
    }
    EXPECT_TRUE(negative);
  };
  run(body());
}

TEST_F(Reader, ReaduntilFindsAMultiByteSeparatorSplitAcrossChunks) {
  auto body = []() -> Task<void> {
    StreamReader r;
    (void)get_running_loop().create_task(feed_later(r, {"abc\r", "\nde", "f\r", "\n"}, true));
    std::string sep = "\r\n";
    EXPECT_EQ(co_await r.readuntil(sep), "abc\r\n");
    EXPECT_EQ(co_await r.readuntil(sep), "def\r\n");
    bool incomplete = false;
    try {
      (void)co_await r.readuntil(sep);
    } catch (const IncompleteReadError& e) {
      incomplete = true;
      EXPECT_EQ(e.partial(), "");
    }
    EXPECT_TRUE(incomplete);
    bool empty_sep = false;
    try {
      std::string none;
      (void)co_await r.readuntil(none);
    } catch (const ValueError&) {
      empty_sep = true;
    }
    EXPECT_TRUE(empty_sep);
  };
  run(body());
}

TEST_F(Reader, ReaduntilPastTheLimitRaisesLimitOverrunAndKeepsTheData) {
  auto body = []() -> Task<void> {
    StreamReader r(4);
    r.feed_data("123456\n");
    bool overrun = false;
    try {
      std::string sep = "\n";
      (void)co_await r.readuntil(sep);
    } catch (const LimitOverrunError& e) {
      overrun = true;
      EXPECT_EQ(e.consumed(), 6u);
    }
    EXPECT_TRUE(overrun);
    EXPECT_EQ(co_await r.read(3), "123") << "the data stays buffered";

    StreamReader r2(4);
    r2.feed_data("1234567");  // no separator, already longer than the limit
    overrun = false;
    try {
      std::string sep = "\n";
      (void)co_await r2.readuntil(sep);
    } catch (const LimitOverrunError& e) {
      overrun = true;
      EXPECT_EQ(e.consumed(), 7u);
    }
    EXPECT_TRUE(overrun);
  };
  run(body());
}

TEST_F(Reader, ReadlineOverTheLimitIsAValueErrorAndDiscardsTheLine) {
  auto body = []() -> Task<void> {
    StreamReader r(4);
    r.feed_data("123456\nok\n");
    bool raised = false;
    try {
      (void)co_await r.readline();
    } catch (const ValueError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
    EXPECT_EQ(co_await r.readline(), "ok\n");
  };
  run(body());
}

TEST_F(Reader, LimitMustBePositive) {
  EXPECT_THROW(StreamReader(0), ValueError);
  EXPECT_THROW(StreamReader(-5), ValueError);
}

TEST_F(Reader, AnExceptionSetByTheTransportIsRaisedToTheReader) {
  auto body = []() -> Task<void> {
    StreamReader r;
    Task<std::string> pending = get_running_loop().create_task(r.readline());
    co_await yield_now();
    r.set_exception(
        std::make_exception_ptr(std::system_error(ECONNRESET, std::generic_category(), "reset")));
    bool raised = false;
    try {
      (void)co_await pending;
    } catch (const std::system_error& e) {
      raised = e.code().value() == ECONNRESET;
    }
    EXPECT_TRUE(raised);
    raised = false;
    try {
      (void)co_await r.read(1);
    } catch (const std::system_error&) {
      raised = true;
    }
    EXPECT_TRUE(raised) << "later reads raise it too";
  };
  run(body());
}

TEST_F(Reader, TwoConcurrentReadersIsARuntimeError) {
  auto body = []() -> Task<void> {
    StreamReader r;
    Task<std::string> first = get_running_loop().create_task(r.read(1));
    co_await yield_now();
    bool raised = false;
    try {
      (void)co_await r.read(1);
    } catch (const RuntimeError&) {
      raised = true;
    }
    EXPECT_TRUE(raised);
    r.feed_data("x");
    EXPECT_EQ(co_await first, "x");
  };
  run(body());
}

TEST_F(Reader, ALongLineInManySmallPiecesIsReadInLinearTime) {
  auto body = []() -> Task<void> {
    // 8 MiB in 1-byte-per... 16-byte pieces: quadratic copying or searching
    // would take minutes; linear takes milliseconds.
    const std::size_t size = 8u << 20;
    StreamReader r(static_cast<long>(size) + 1);
    std::string piece(16, 'x');
    auto feeder = [](StreamReader& r, std::string piece, std::size_t size) -> Task<void> {
      for (std::size_t sent = 0; sent < size; sent += piece.size()) {
        r.feed_data(piece);
        if (sent % (1u << 16) == 0) co_await yield_now();
      }
      r.feed_data("\n");
    };
    (void)get_running_loop().create_task(feeder(r, piece, size));
    std::string line = co_await r.readline();
    EXPECT_EQ(line.size(), size + 1);
  };
  run(body());
}

// --- The lent buffer (get_buffer / buffer_updated, as a transport calls them) --------

bool all_are(const std::string& s, char c) {
  return std::all_of(s.begin(), s.end(), [c](char x) { return x == c; });
}

// A transport's receive of `n` bytes into what the reader offers; the
// offer's size goes to `offers`.
void receive(StreamReader& r, std::size_t n, char fill, std::vector<std::size_t>& offers) {
  std::span<char> space = r.get_buffer(0);
  offers.push_back(space.size());
  n = std::min(n, space.size());
  std::fill_n(space.data(), n, fill);
  r.buffer_updated(n);
}

// What a loop of reads into one reused string saw, as an echo loop does.
struct ReadsIntoOneString {
  std::vector<const char*> where;  // where each result's bytes lived
  std::vector<std::string> got;
  std::vector<std::size_t> offers;  // the free space offered to each receive
};

Task<void> read_into_repeatedly(StreamReader& r, std::string& into, std::size_t count,
                                ReadsIntoOneString& seen) {
  for (std::size_t i = 0; i < count; ++i) {
    co_await r.read(65536, into);
    seen.where.push_back(into.data());
    seen.got.push_back(into);
  }
}

// Each read waits before its bytes arrive: receive i brings sizes[i] bytes
// of 'a' + i into a reader whose reads go into a 64 KiB string.
Task<ReadsIntoOneString> waiting_reads(std::vector<std::size_t> sizes) {
  StreamReader r;
  std::string into(64 * 1024, 'x');
  ReadsIntoOneString seen;
  Task<void> reads =
      get_running_loop().create_task(read_into_repeatedly(r, into, sizes.size(), seen));
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    co_await yield_now();  // the read waits
    receive(r, sizes[i], static_cast<char>('a' + i), seen.offers);
  }
  co_await reads;
  for (std::size_t i = 0; i < seen.got.size(); ++i) {
    EXPECT_EQ(seen.got[i].size(), sizes[i]) << i;
    EXPECT_TRUE(all_are(seen.got[i], static_cast<char>('a' + i))) << i;
  }
  co_return seen;
}

TEST_F(Reader, AShortReceiveDoesNotShrinkTheNextOffer) {
  // Two servers sharing a CPU receive 4-10 KiB at a time: had each offer
  // been as large as the last result, a 100 KiB message took 10 receives.
  auto body = []() -> Task<void> {
    std::vector<std::size_t> sizes;
    for (std::size_t i = 0; i < 8; ++i) sizes.push_back(4096 + 512 * i);
    ReadsIntoOneString seen = co_await waiting_reads(sizes);
    for (std::size_t offer : seen.offers) EXPECT_GE(offer, 64u * 1024);
  };
  run(body());
}

TEST_F(Reader, AShortReceiveReadAfterItArrivedDoesNotShrinkTheNextOffer) {
  // The same when each read comes after the bytes: the two strings trade
  // places, and the one the caller handed over is as short as its last result.
  auto body = []() -> Task<void> {
    StreamReader r;
    std::string into(64 * 1024, 'x');
    std::vector<std::size_t> offers;
    for (std::size_t i = 0; i < 8; ++i) {
      receive(r, 4096 + 512 * i, static_cast<char>('a' + i), offers);
      co_await r.read(65536, into);
      EXPECT_EQ(into.size(), 4096 + 512 * i) << i;
      EXPECT_TRUE(all_are(into, static_cast<char>('a' + i))) << i;
    }
    for (std::size_t offer : offers) EXPECT_GE(offer, 64u * 1024);
  };
  run(body());
}

TEST_F(Reader, AWaitingReadIntoAReusedStringReceivesIntoThatString) {
  // One buffer per connection stays hot, not two in turn (the 100 KiB echo
  // at 100 connections overflowed the cache with two).
  auto body = []() -> Task<void> {
    std::vector<std::size_t> sizes(8, 64 * 1024);  // each receive fills the whole offer
    ReadsIntoOneString seen = co_await waiting_reads(sizes);
    for (std::size_t i = 1; i < seen.where.size(); ++i)
      EXPECT_EQ(seen.where[i], seen.where[0]) << i;
  };
  run(body());
}

TEST_F(Reader, TheShortLastPartOfAMessageIsReceivedIntoTheSameString) {
  // A 100 KiB echo reading up to 64 KiB at a time reads 64 KiB, then 36: the
  // 36 KiB string grows back to a 64 KiB offer instead of the reader
  // receiving into a second buffer every other time.
  auto body = []() -> Task<void> {
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 4; ++i) {
      sizes.push_back(64 * 1024);
      sizes.push_back(36 * 1024);
    }
    ReadsIntoOneString seen = co_await waiting_reads(sizes);
    for (std::size_t i = 1; i < seen.where.size(); ++i)
      EXPECT_EQ(seen.where[i], seen.where[0]) << i;
    for (std::size_t offer : seen.offers) EXPECT_GE(offer, 64u * 1024);
  };
  run(body());
}

// Leaves `into` holding 64 KiB of 'a' and the reader a 64 KiB buffer of its
// own to trade: a later read into `into` that waits lends it.
Task<void> trade_once(StreamReader& r, std::string& into) {
  into.assign(64 * 1024, 'x');
  std::vector<std::size_t> offers;
  receive(r, 64 * 1024, 'a', offers);
  co_await r.read(65536, into);
}

// Starts a read into `into` that waits (lending `into`), cancels it, and
// says whether it ended cancelled.
Task<bool> cancel_waiting_read(StreamReader& r, std::string& into) {
  Task<void> read = get_running_loop().create_task(r.read(65536, into));
  co_await yield_now();  // the read waits
  read.cancel();
  try {
    co_await read;
  } catch (const CancelledError&) {
    co_return true;
  }
  co_return false;
}

TEST_F(Reader, ACancelledReadIntoAStringLeavesTheStringAsItWas) {
  auto body = []() -> Task<void> {
    StreamReader r;
    std::string into;
    co_await trade_once(r, into);
    const bool cancelled = co_await cancel_waiting_read(r, into);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(into.size(), 64u * 1024);
    EXPECT_TRUE(all_are(into, 'a'));
    std::vector<std::size_t> offers;
    receive(r, 5000, 'b', offers);  // the reader still works, into its own buffer
    std::string next(64 * 1024, 'y');
    co_await r.read(65536, next);
    EXPECT_EQ(next.size(), 5000u);
    EXPECT_TRUE(all_are(next, 'b'));
    EXPECT_TRUE(all_are(into, 'a'));
  };
  run(body());
}

TEST_F(Reader, AReadIntoAStringThatRaisesBeforeAnyByteLeavesTheStringAsItWas) {
  auto body = []() -> Task<void> {
    StreamReader r;
    std::string into;
    co_await trade_once(r, into);
    Task<void> read = get_running_loop().create_task(r.readexactly(1000, into));
    co_await yield_now();  // waiting, `into` lent
    r.set_exception(
        std::make_exception_ptr(std::system_error(ECONNRESET, std::generic_category(), "reset")));
    bool raised = false;
    try {
      co_await read;
    } catch (const std::system_error& e) {
      raised = e.code().value() == ECONNRESET;
    }
    EXPECT_TRUE(raised);
    EXPECT_EQ(into.size(), 64u * 1024);
    EXPECT_TRUE(all_are(into, 'a'));
  };
  run(body());
}

TEST_F(Reader, ACancelledReadIntoAStringGrownToTheOfferLeavesTheStringAsItWas) {
  auto body = []() -> Task<void> {
    StreamReader r;
    std::string into;
    co_await trade_once(r, into);
    std::vector<std::size_t> offers;
    receive(r, 40000, 'b', offers);
    co_await r.read(65536, into);  // 40,000 bytes: shorter than the next offer
    // Waiting, `into` (grown to 64 KiB) is the receive space.
    const bool cancelled = co_await cancel_waiting_read(r, into);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(into.size(), 40000u);
    EXPECT_TRUE(all_are(into, 'b'));
  };
  run(body());
}

}  // namespace
