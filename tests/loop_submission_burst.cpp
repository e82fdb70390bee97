// More operations queued in one loop iteration than io_uring's submission
// queue holds (the backend's ring has 1,024 entries): the backend hands the
// full queue to the kernel early and goes on queueing, and every operation
// still completes, none lost or done twice. The selector runs the same
// operations (sent at once, without epoll).

#include <cstdio>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace {

using namespace aiocpp;
using aiocpp::testing::BackendLoopTest;
using aiocpp::testing::SocketPair;

// Half as many again as the submission queue's entries: four per socket
// pair (a receive and a send at each end), so that the descriptors stay
// under the usual limit of 1,024.
constexpr std::size_t kPairs = 384;
constexpr std::size_t kTokenSize = 5;

std::string token(std::size_t i) {
  char text[kTokenSize + 1];
  std::snprintf(text, sizeof text, "%05zu", i);
  return text;
}

class SubmissionBurst : public BackendLoopTest {};
AIOCPP_TEST_ON_ALL_BACKENDS(SubmissionBurst);

Task<void> expect_all(std::vector<Task<void>> sends, std::vector<Task<std::string>> receives) {
  for (auto& send : sends) co_await send;
  // Receive 2i was at end a, which end b's send 2i + 1 wrote to, and back.
  for (std::size_t i = 0; i < receives.size(); ++i) {
    std::string got = co_await receives[i];
    EXPECT_EQ(got, token(i ^ 1)) << "receive " << i;
  }
}

TEST_P(SubmissionBurst, MoreOperationsInOneIterationThanTheQueueHoldsAllComplete) {
  std::vector<SocketPair> pairs(kPairs);
  std::vector<Task<std::string>> receives;
  std::vector<Task<void>> sends;
  for (std::size_t i = 0; i < kPairs; ++i) {
    for (int end : {pairs[i].a.get(), pairs[i].b.get()}) {
      receives.push_back(loop_->create_task(loop_->sock_recv(end, 16)));
    }
  }
  for (std::size_t i = 0; i < kPairs; ++i) {
    sends.push_back(loop_->create_task(loop_->sock_sendall(pairs[i].a.get(), token(2 * i))));
    sends.push_back(loop_->create_task(loop_->sock_sendall(pairs[i].b.get(), token(2 * i + 1))));
  }
  // Every task's first step runs in this one iteration: on io_uring each
  // queues its operation, 1,536 submission queue entries.
  run_once();
  run(expect_all(std::move(sends), std::move(receives)), 30.0);
}

}  // namespace
