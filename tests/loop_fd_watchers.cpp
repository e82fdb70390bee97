// add_reader / remove_reader / add_writer / remove_writer.

#include <sys/socket.h>
#include <unistd.h>

#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::FdLeakCheck;

struct SocketPair {
  int a = -1, b = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    a = fds[0];
    b = fds[1];
  }
  ~SocketPair() {
    close(a);
    close(b);
  }
};

AIOCPP_BACKEND_SUITE(FdWatchers);

TEST_P(FdWatchers, ReaderRunsWhileDataIsThereAndStopsWhenRemoved) {
  FdLeakCheck fds;
  SocketPair pair;
  run_bounded([](SocketPair* pair) -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<std::string> got = loop.create_future<std::string>();
    int calls = 0;
    auto on_readable = [&calls, pair, got]() mutable {
      ++calls;
      char buf[16];
      ssize_t n = read(pair->a, buf, sizeof buf);
      if (!got.done()) got.set_result(std::string(buf, n > 0 ? n : 0));
    };
    loop.add_reader(pair->a, on_readable);
    EXPECT_EQ(write(pair->b, "ping", 4), 4);
    EXPECT_EQ(co_await got, "ping");
    EXPECT_TRUE(loop.remove_reader(pair->a));
    EXPECT_FALSE(loop.remove_reader(pair->a)) << "nothing registered any more";
    int before = calls;
    EXPECT_EQ(write(pair->b, "more", 4), 4);
    co_await aiocpp::sleep(0.02);  // gives a removed reader the chance to misfire
    EXPECT_EQ(calls, before);
  }(&pair));
}

TEST_P(FdWatchers, WriterRunsWhenWritableAndArgumentsArePassed) {
  FdLeakCheck fds;
  SocketPair pair;
  run_bounded([](SocketPair* pair) -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<int> fired = loop.create_future<int>();
    auto on_writable = [&loop, fired](int fd, int tag) mutable {
      loop.remove_writer(fd);
      fired.set_result(tag);
    };
    loop.add_writer(pair->a, on_writable, pair->a, 7);
    EXPECT_EQ(co_await fired, 7);
    EXPECT_FALSE(loop.remove_writer(pair->a));
  }(&pair));
}

TEST_P(FdWatchers, ReaderAndWriterOnOneFdAndReplacement) {
  FdLeakCheck fds;
  SocketPair pair;
  run_bounded([](SocketPair* pair) -> Task<void> {
    EventLoop& loop = get_running_loop();
    Future<void> writable = loop.create_future<void>();
    Future<std::string> which = loop.create_future<std::string>();
    auto first = [which]() mutable {
      if (!which.done()) which.set_result("first");
    };
    auto second = [which, pair]() mutable {
      char c;
      (void)read(pair->a, &c, 1);
      if (!which.done()) which.set_result("second");
    };
    auto on_writable = [&loop, pair, writable]() mutable {
      loop.remove_writer(pair->a);
      writable.set_result();
    };
    loop.add_reader(pair->a, first);
    loop.add_reader(pair->a, second);  // replaces the first
    loop.add_writer(pair->a, on_writable);
    co_await writable;
    EXPECT_EQ(write(pair->b, "x", 1), 1);
    EXPECT_EQ(co_await which, "second");
    EXPECT_TRUE(loop.remove_reader(pair->a));
  }(&pair));
}

TEST_P(FdWatchers, AnExceptionInACallbackReachesTheHandlerAndTheLoopGoesOn) {
  FdLeakCheck fds;
  SocketPair pair;
  run_bounded([](SocketPair* pair) -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::vector<std::string> messages;
    loop.set_exception_handler(
        [&messages](EventLoop&, const ExceptionContext& c) { messages.push_back(c.message); });
    Future<void> thrown = loop.create_future<void>();
    auto failing = [pair, thrown]() mutable {
      char c;
      (void)read(pair->a, &c, 1);
      if (!thrown.done()) thrown.set_result();
      throw std::runtime_error("reader failed");
    };
    loop.add_reader(pair->a, failing);
    EXPECT_EQ(write(pair->b, "x", 1), 1);
    co_await thrown;
    co_await aiocpp::sleep(0);
    EXPECT_FALSE(messages.empty());
    if (messages.empty()) co_return;
    EXPECT_EQ(messages[0], "Exception in callback");
    loop.remove_reader(pair->a);
    loop.set_exception_handler(nullptr);
  }(&pair));
}

TEST_P(FdWatchers, BadDescriptorsAreClearErrors) {
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto nothing = [] {};
    EXPECT_THROW(loop.add_reader(-1, nothing), std::invalid_argument);
    int fd = dup(0);
    close(fd);
    EXPECT_THROW(loop.add_reader(fd, nothing), std::system_error);
    EXPECT_FALSE(loop.remove_reader(fd));
    co_return;
  }());
}

TEST_P(FdWatchers, ALoopClosedWithWatchersLeftReleasesThem) {
  FdLeakCheck fds;
  SocketPair pair;
  auto loop = new_event_loop(loop_options());
  auto holder = std::make_shared<int>(1);
  loop->add_reader(pair.a, [holder] {});
  EXPECT_EQ(holder.use_count(), 2) << "the loop holds the callback";
  loop->close();
  EXPECT_EQ(holder.use_count(), 1) << "the callback was released with the loop";
}

}  // namespace
