// run_in_executor, the default executor and its shutdown; getaddrinfo / getnameinfo.

#include <netdb.h>
#include <pthread.h>

#include <atomic>
#include <thread>

#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::run_bounded;

TEST(Executors, ResultsAndExceptionsComeBackOnTheLoopThread) {
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    std::thread::id loop_thread = std::this_thread::get_id();
    auto work = [] {
      char name[32] = {};
      pthread_getname_np(pthread_self(), name, sizeof name);
      return std::string(name);
    };
    std::string worker_name = co_await loop.run_in_executor(nullptr, work);
    EXPECT_EQ(worker_name.rfind("aiocpp_", 0), 0u) << worker_name;
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);

    auto failing = []() -> int { throw std::runtime_error("in a worker"); };
    EXPECT_THROW(co_await loop.run_in_executor(nullptr, failing), std::runtime_error);

    auto nothing = [] {};
    co_await loop.run_in_executor(nullptr, nothing);  // void results too
  }());
}

TEST(Executors, AnExecutorOfOurOwnAndManyJobsAtOnce) {
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    ThreadPoolExecutor pool(3);
    std::vector<Future<int>> jobs;
    for (int i = 0; i < 50; ++i) {
      auto square = [i] { return i * i; };
      jobs.push_back(loop.run_in_executor(&pool, square));
    }
    auto results = co_await gather(std::move(jobs));
    for (int i = 0; i < 50; ++i) EXPECT_EQ(results[i], i * i);
    pool.shutdown();
    auto late = [] { return 0; };
    EXPECT_THROW(loop.run_in_executor(&pool, late), std::runtime_error);
  }());
}

TEST(Executors, SetDefaultExecutorAndShutdownDefaultExecutor) {
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto pool = std::make_shared<ThreadPoolExecutor>(1);
    loop.set_default_executor(pool);
    std::atomic<bool> finished{false};
    auto slow = [&finished] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      finished = true;
      return 1;
    };
    Future<int> pending = loop.run_in_executor(nullptr, slow);
    co_await loop.shutdown_default_executor();
    EXPECT_TRUE(finished) << "shutdown waits for queued jobs";
    EXPECT_EQ(co_await pending, 1);
    auto late = [] { return 0; };
    EXPECT_THROW(loop.run_in_executor(nullptr, late), std::runtime_error);
  }());
}

TEST(Names, GetaddrinfoAndGetnameinfo) {
  run_bounded([]() -> Task<void> {
    EventLoop& loop = get_running_loop();
    auto infos = co_await loop.getaddrinfo("127.0.0.1", 80, {.type = SOCK_STREAM});
    EXPECT_FALSE(infos.empty());
    if (infos.empty()) co_return;
    EXPECT_EQ(infos[0].family, AF_INET);
    EXPECT_EQ(infos[0].address.to_string(), "('127.0.0.1', 80)");
    auto local = co_await loop.getaddrinfo("localhost", 0, {.family = AF_INET});
    EXPECT_FALSE(local.empty());
    auto [host, service] = co_await loop.getnameinfo(SocketAddress::from_ip("127.0.0.1", 22),
                                                     NI_NUMERICHOST | NI_NUMERICSERV);
    EXPECT_EQ(host, "127.0.0.1");
    EXPECT_EQ(service, "22");
    try {
      co_await loop.getaddrinfo("nosuch.invalid", 80);
      ADD_FAILURE() << "an unknown name resolved";
    } catch (const std::system_error& e) {
      EXPECT_EQ(&e.code().category(), &gai_category());
      EXPECT_NE(std::string(e.what()).find("nosuch.invalid"), std::string::npos) << e.what();
    }
  }());
}

}  // namespace

TEST(LoopShutdownAsyncgens, CompletesAtOnce) {
  aiocpp::testing::FdLeakCheck fds;
  aiocpp::testing::run_bounded([]() -> aiocpp::Task<void> {
    aiocpp::EventLoop& loop = aiocpp::get_running_loop();
    co_await loop.shutdown_asyncgens();
    EXPECT_TRUE(loop.is_running());
  }());
}
