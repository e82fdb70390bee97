// The soak test's server (scripts/soak): an echo Protocol with flow control,
// as a user would write one that must survive slow readers. When its write
// buffer passes the high-water mark (pause_writing) it stops reading the
// peer, and reads again once the buffer drained (resume_writing): a client
// that reads slowly then holds the server's memory at the limits instead of
// growing it. On the peer's EOF it returns false from eof_received, so that
// the transport closes once what it buffered has been sent (the client's
// half-close sees every byte, then EOF).
//
//   soak_server [--port PORT] [--backend selector|io_uring|automatic]
//
// Prints the port on the first line of stdout; SIGINT / SIGTERM stop it
// (bench/peers/aiocpp_serve.hpp, shared with the benchmark's peers).

#include <malloc.h>

#include "aiocpp_serve.hpp"

namespace {

// How often flow control engaged: printed at exit, the soak's evidence that
// its slow readers filled write buffers.
unsigned long long pauses = 0;

class FlowControlledEcho : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override { transport_ = &transport; }
  void data_received(std::string_view data) override { transport_->write(data); }
  void pause_writing() override {
    ++pauses;
    transport_->pause_reading();
  }
  void resume_writing() override { transport_->resume_reading(); }
  bool eof_received() override { return false; }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
};

// A backlog for thousands of clients connecting at once: with asyncio's 100,
// the kernel drops SYNs past it and the clients wait out retransmissions.
aiocpp::Task<std::shared_ptr<aiocpp::Server>> start(int port, aiocpp::ServerOptions options) {
  options.backlog = 4096;
  co_return co_await peers::start_protocol<FlowControlledEcho>(port, options);
}

}  // namespace

int main(int argc, char** argv) {
  int rc = peers::main_with(argc, argv, start);
  // What the heap still holds once every connection is gone: in use (a
  // leak would show here) against what glibc keeps from the peak.
  struct mallinfo2 heap = mallinfo2();
  std::fprintf(
      stderr,
      "soak_server: pause_writing %llu times; heap in use at exit %.1f MiB of %.1f MiB held\n",
      pauses, heap.uordblks / 1048576.0, (heap.arena + heap.hblkhd) / 1048576.0);
  return rc;
}
