// The floor for a proactor (completion) design: the least an io_uring echo
// server can do with liburing. Each connection always has exactly one
// operation in flight, a recv into its own buffer or the send of what that
// recv brought (a buffer handed to the kernel cannot be shared, unlike the
// selector floor's); every completion is answered by the next operation, and
// one io_uring_enter both submits them and waits. Exits 0 with a reason on
// stderr and "skip" on stdout when io_uring is unavailable.

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

#include "peer_args.hpp"
#include "raw_setup.hpp"

namespace {

constexpr std::size_t kBufferSize = 256 * 1024;

// Lifetime: a Connection lives from its accept until the completion that
// closes it; the kernel holds `buffer` while a recv or send is in flight, so
// it is freed only once no operation is pending.
struct Connection {
  int fd;
  bool sending = false;
  std::size_t length = 0, sent = 0;  // of the echo in `buffer`
  std::unique_ptr<char[]> buffer{new char[kBufferSize]};
};

constexpr std::uint64_t kAccept = 0;  // user_data of the accept; else a Connection*

int skip(const std::string& why) {
  std::printf("skip: %s\n", why.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "raw_io_uring: skipped: %s\n", why.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);

  std::ifstream disabled("/proc/sys/kernel/io_uring_disabled");
  int disabled_level = 0;
  if (disabled >> disabled_level && disabled_level == 2) {
    return skip("io_uring is disabled (/proc/sys/kernel/io_uring_disabled is 2)");
  }
  io_uring ring;
  if (int rc = io_uring_queue_init(1024, &ring, 0); rc < 0) {
    return skip(std::string("io_uring_queue_init: ") + std::strerror(-rc));
  }

  sigset_t wait_mask = peers::block_stop_signals();

  int port = 0;
  int listener = peers::listen_on_loopback(args.port, 0, &port);
  if (listener < 0) {
    std::fprintf(stderr, "raw_io_uring: bind/listen: %s\n", std::strerror(errno));
    return 1;
  }
  int one = 1;

  auto sqe = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (!s) {  // full: hand the queue to the kernel and take a fresh entry
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  };
  auto arm_accept = [&] {
    io_uring_sqe* s = sqe();
    io_uring_prep_accept(s, listener, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, kAccept);
  };
  auto arm_recv = [&](Connection* c) {
    io_uring_sqe* s = sqe();
    c->sending = false;
    io_uring_prep_recv(s, c->fd, c->buffer.get(), kBufferSize, 0);
    io_uring_sqe_set_data(s, c);
  };
  auto arm_send = [&](Connection* c) {
    io_uring_sqe* s = sqe();
    c->sending = true;
    io_uring_prep_send(s, c->fd, c->buffer.get() + c->sent, c->length - c->sent, MSG_NOSIGNAL);
    io_uring_sqe_set_data(s, c);
  };

  arm_accept();
  peers::announce_port(port);

  std::vector<Connection*> live;
  std::uint64_t echoed = 0;
  while (!peers::stop_requested && (args.stop_after_bytes == 0 || echoed < args.stop_after_bytes)) {
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, nullptr, &wait_mask);
    if (rc < 0 && rc != -EINTR && rc != -ETIME) {
      std::fprintf(stderr, "raw_io_uring: io_uring_submit_and_wait: %s\n", std::strerror(-rc));
      return 1;
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      int res = cqe->res;
      if (io_uring_cqe_get_data64(cqe) == kAccept) {
        if (res >= 0) {
          setsockopt(res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* c = new Connection{res};
          live.push_back(c);
          arm_recv(c);
        }
        arm_accept();
        continue;
      }
      auto* c = static_cast<Connection*>(io_uring_cqe_get_data(cqe));
      if (res <= 0) {  // EOF or error: nothing of this connection is in flight any more
        close(c->fd);
        std::erase(live, c);
        delete c;
        continue;
      }
      if (!c->sending) {
        c->length = static_cast<std::size_t>(res);
        c->sent = 0;
        arm_send(c);
      } else {
        c->sent += static_cast<std::size_t>(res);
        echoed += static_cast<std::uint64_t>(res);
        if (c->sent < c->length) {
          arm_send(c);  // a short send: the rest, from the same buffer
        } else {
          arm_recv(c);
        }
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  // Closing the ring cancels what is in flight; only then may the buffers go.
  io_uring_queue_exit(&ring);
  for (Connection* c : live) {
    close(c->fd);
    delete c;
  }
  close(listener);
  return 0;
}
