// The floor for a selector (readiness) design: the least an epoll echo server
// can do. Level-triggered, so one recv per readiness event and no recv that
// only learns EAGAIN; one read buffer shared by every connection, since the
// bytes leave again before the next recv; no epoll_ctl while a connection
// keeps up. Only when the kernel refuses part of an echo does that connection
// keep the rest, stop reading and wait for EPOLLOUT (two epoll_ctl calls per
// episode of back-pressure, none per message).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "peer_args.hpp"
#include "raw_setup.hpp"

namespace {

struct Connection {
  std::vector<char> pending;  // the part of an echo the kernel refused
  std::size_t sent = 0;       // of `pending`
};

int fail(const char* what) {
  std::fprintf(stderr, "raw_epoll: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);

  sigset_t wait_mask = peers::block_stop_signals();

  int port = 0;
  int listener = peers::listen_on_loopback(args.port, SOCK_NONBLOCK, &port);
  if (listener < 0) return fail("bind/listen");
  peers::announce_port(port);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = listener;
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);

  std::vector<std::unique_ptr<Connection>> conns;  // indexed by descriptor
  std::vector<char> buffer(256 * 1024);            // asyncio's read size
  std::vector<epoll_event> events(256);
  std::uint64_t echoed = 0;

  auto drop = [&](int fd) {
    close(fd);  // also removes it from the epoll set
    conns[static_cast<std::size_t>(fd)].reset();
  };
  auto watch = [&](int fd, std::uint32_t what) {
    epoll_event e{};
    e.events = what;
    e.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
  };

  while (!peers::stop_requested && (args.stop_after_bytes == 0 || echoed < args.stop_after_bytes)) {
    int n = epoll_pwait(ep, events.data(), static_cast<int>(events.size()), -1, &wait_mask);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("epoll_pwait");
    }
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listener) {
        peers::accept_all(listener, ep, [&](int c) {
          if (conns.size() <= static_cast<std::size_t>(c)) conns.resize(c + 1);
          conns[c] = std::make_unique<Connection>();
        });
        continue;
      }
      Connection& conn = *conns[fd];
      if (!conn.pending.empty()) {  // writable again: finish the refused echo
        ssize_t w = send(fd, conn.pending.data() + conn.sent, conn.pending.size() - conn.sent,
                         MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          drop(fd);
          continue;
        }
        if (w > 0) conn.sent += w, echoed += w;
        if (conn.sent == conn.pending.size()) {
          conn.pending.clear();
          conn.sent = 0;
          watch(fd, EPOLLIN);
        }
        continue;
      }
      ssize_t r = recv(fd, buffer.data(), buffer.size(), 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        drop(fd);
        continue;
      }
      ssize_t w = send(fd, buffer.data(), r, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno != EAGAIN) {
          drop(fd);
          continue;
        }
        w = 0;
      }
      echoed += w;
      if (w < r) {
        conn.pending.assign(buffer.data() + w, buffer.data() + r);
        watch(fd, EPOLLOUT);
      }
    }
  }
  for (std::size_t fd = 0; fd < conns.size(); ++fd) {
    if (conns[fd]) close(static_cast<int>(fd));
  }
  close(listener);
  close(ep);
  return 0;
}
