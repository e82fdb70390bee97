// The accept loop survives running out of descriptors (EMFILE): it reports
// 'socket.accept() out of system resource', pauses accepting for a while
// instead of spinning on a listening socket that stays readable (asyncio's
// ACCEPT_RETRY_DELAY), and accepts again once descriptors are back.
//
// Two ways to get there:
//  - for real, lowering RLIMIT_NOFILE (on both backends; io_uring's accept
//    fails with EMFILE in its completion). UBSan's vptr check cannot run without
//    a free descriptor (it probes memory through a pipe) and reports false
//    "invalid vptr" errors, so that test is skipped under UBSan;
//  - by injection: this executable defines accept4, which the library's
//    calls resolve to, and which fails with EMFILE while told to. That one
//    runs everywhere, and can count the attempts a spinning loop would make.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <algorithm>
#include <atomic>
#include <cstring>

#include "tcp_helpers.hpp"

namespace {
std::atomic<int> inject_emfile_on{-1};  // a listening fd, or -1
std::atomic<int> injected_failures{0};
}  // namespace

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  if (fd == inject_emfile_on.load()) {
    ++injected_failures;
    errno = EMFILE;
    return -1;
  }
  return static_cast<int>(::syscall(SYS_accept4, fd, addr, len, flags));
}

extern "C" void __ubsan_handle_dynamic_type_cache_miss_abort(void*, void*, void*)
    __attribute__((weak));
extern "C" void __ubsan_handle_dynamic_type_cache_miss(void*, void*, void*) __attribute__((weak));

using namespace tcp_test;
using aiocpp::testing::FdLeakCheck;

namespace {

bool ubsan_vptr_checks() {
  return __ubsan_handle_dynamic_type_cache_miss_abort != nullptr ||
         __ubsan_handle_dynamic_type_cache_miss != nullptr;
}

void echo(Recorder& p) { p.echo = true; }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void check_out_of_resource_report(const HandlerLog& log, int listening) {
  EXPECT_EQ(log.contexts.size(), 1u) << "accept retried without a pause";
  if (log.contexts.empty()) return;
  const ExceptionContext& c = log.contexts.front();
  EXPECT_EQ(c.message, "socket.accept() out of system resource");
  EXPECT_EQ(errno_of(c.exception), EMFILE) << describe(c.exception);
  EXPECT_EQ(c.socket, listening);
}

// Once accepting works again, the pending raw connection is served.
Task<void> check_accepts_again(Acceptor<>& acceptor, int raw) {
  auto peer = co_await acceptor.nth(0);
  if (peer) {
    ::send(raw, "hi", 2, MSG_NOSIGNAL);
    co_await arrives(peer->bytes.at_least(2), "data on the late-accepted connection");
  }
  ::close(raw);
  if (peer) co_await arrives(peer->lost, "server connection_lost");
}

// Restores RLIMIT_NOFILE whatever happens to the test.
struct FileLimitGuard {
  rlimit saved{};
  FileLimitGuard() { getrlimit(RLIMIT_NOFILE, &saved); }
  ~FileLimitGuard() { setrlimit(RLIMIT_NOFILE, &saved); }
};

AIOCPP_BACKEND_SUITE(TcpServerEmfile);

TEST_P(TcpServerEmfile, AcceptSurvivesRunningOutOfDescriptors) {
  if (ubsan_vptr_checks()) {
    GTEST_SKIP() << "UBSan's vptr check needs free descriptors; "
                    "build without -fsanitize=undefined to run this test";
  }
  FdLeakCheck fds;
  FileLimitGuard limit;
  run_bounded([](FileLimitGuard* limit) -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    // A limit a little above the highest descriptor in use, set before the
    // server starts: io_uring's accept takes the limit when it is submitted
    // (the kernel keeps it with the armed multishot accept), so one lowered
    // later would not reach it.
    auto open = aiocpp::testing::open_fds();
    rlimit low = limit->saved;
    low.rlim_cur = static_cast<rlim_t>(*std::max_element(open.begin(), open.end()) + 16);
    EXPECT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    Acceptor<> acceptor(echo);
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    // No descriptor left: every number under the limit taken (accept takes
    // the lowest free one), the client's socket made first. Then connected:
    // on io_uring the armed accept runs as the connect returns (task work),
    // so the descriptors must be gone before.
    int raw = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_GE(raw, 0);
    if (raw < 0) co_return;
    std::vector<int> fillers;
    for (int fd; (fd = ::fcntl(2, F_DUPFD_CLOEXEC, 0)) >= 0;) fillers.push_back(fd);
    SocketAddress address = SocketAddress::from_ip("127.0.0.1", port_of(*server));
    EXPECT_EQ(::connect(raw, address.data(), address.size()), 0) << std::strerror(errno);
    const double cpu_before = cpu_seconds();

    bool reported = co_await arrives(log->called, "the accept error");
    // Keep the limit low for a while: a loop that retried at once would spin.
    co_await aiocpp::sleep(0.3);
    for (int fd : fillers) ::close(fd);
    setrlimit(RLIMIT_NOFILE, &limit->saved);
    if (reported) check_out_of_resource_report(*log, server->sockets()[0].fileno());
    log->contexts.clear();

    co_await check_accepts_again(acceptor, raw);
    EXPECT_LT(cpu_seconds() - cpu_before, 0.5) << "the loop spun while accept could not succeed";
    server->close();
    co_await server->wait_closed();
  }(&limit));
}

TEST_P(TcpServerEmfile, AcceptPausesAfterAnInjectedEmfile) {
  if (backend() == Backend::io_uring) {
    GTEST_SKIP() << "EMFILE is injected through accept4(), which io_uring's accept does not call";
  }
  FdLeakCheck fds;
  run_bounded([]() -> Task<void> {
    auto& loop = get_running_loop();
    auto log = HandlerLog::install();
    Acceptor<> acceptor(echo);
    auto server = co_await loop.create_server(acceptor.factory(), "127.0.0.1", 0);
    const int listening = server->sockets()[0].fileno();
    int raw = raw_connect(port_of(*server));
    EXPECT_GE(raw, 0);
    if (raw < 0) co_return;
    injected_failures = 0;
    inject_emfile_on = listening;
    const double cpu_before = cpu_seconds();

    bool reported = co_await arrives(log->called, "the accept error");
    co_await aiocpp::sleep(0.3);
    inject_emfile_on = -1;
    EXPECT_EQ(injected_failures.load(), 1) << "accept was retried without a pause";
    if (reported) check_out_of_resource_report(*log, listening);
    log->contexts.clear();
    // asyncio waits ACCEPT_RETRY_DELAY (1 s) before accepting again.
    const double resumed = loop.time();
    co_await check_accepts_again(acceptor, raw);
    EXPECT_GT(loop.time() - resumed, 0.3) << "accepting resumed without a pause";
    EXPECT_LT(cpu_seconds() - cpu_before, 0.5) << "the loop spun while accept could not succeed";
    server->close();
    co_await server->wait_closed();
  }());
}

}  // namespace
