#pragma once
// What the raw floors (raw_epoll, raw_io_uring, raw_openssl_epoll) share
// before their loops: the stop signals, let in only while waiting, and the
// listening socket on 127.0.0.1.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>

namespace peers {

inline volatile sig_atomic_t stop_requested = 0;

// Blocks SIGINT and SIGTERM everywhere except inside a wait given the
// returned mask (epoll_pwait, io_uring_wait_cqes), where they set
// stop_requested: a stop request can neither be lost between the check and
// the wait nor interrupt a send. Ignores SIGPIPE.
inline sigset_t block_stop_signals() {
  sigset_t stop_set, wait_mask;
  sigemptyset(&stop_set);
  sigaddset(&stop_set, SIGINT);
  sigaddset(&stop_set, SIGTERM);
  sigprocmask(SIG_BLOCK, &stop_set, &wait_mask);
  struct sigaction sa {};
  sa.sa_handler = [](int) { stop_requested = 1; };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return wait_mask;
}

// A socket listening on 127.0.0.1:`port` (0: the kernel chooses), made with
// `flags` (SOCK_NONBLOCK or 0); the port bound goes to *bound. -1 (errno
// set) on failure.
inline int listen_on_loopback(int port, int flags, int* bound) {
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 1024) != 0) {
    close(listener);
    return -1;
  }
  socklen_t len = sizeof addr;
  getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
  *bound = ntohs(addr.sin_port);
  return listener;
}

// The epoll floors: accepts every pending connection on `listener`
// (non-blocking, TCP_NODELAY), adds it to `ep` for EPOLLIN and hands it to
// on_accept(fd).
template <class OnAccept>
void accept_all(int listener, int ep, OnAccept on_accept) {
  int one = 1;
  for (;;) {
    int c = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0) return;
    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    on_accept(c);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.fd = c;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &e);
  }
}

}  // namespace peers
