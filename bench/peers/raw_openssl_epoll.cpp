// The floor for TLS echo: OpenSSL straight over non-blocking sockets and
// level-triggered epoll, no library between them. Each connection's SSL
// reads and writes its socket itself (OpenSSL's socket BIO); read-ahead lets
// one recv take several records. Decrypted data goes to one read buffer
// shared by every connection and is encrypted back at once (SSL_write);
// only when the kernel refuses part of it does that connection keep the
// rest, stop reading and wait for EPOLLOUT. The handshake runs on the same
// events. While events keep coming, a wait that could sleep first polls a
// few times with a zero timeout (4 to 64, more while that finds events), as
// aiocpp's loop does: EpollBackend::poll says why. Same command line as every peer (peer_args.hpp).

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "peer_args.hpp"
#include "raw_setup.hpp"
#include "tls_credentials.hpp"

namespace {

struct Connection {
  SSL* ssl = nullptr;
  bool handshaken = false;
  std::vector<char> pending;  // plaintext SSL_write has not taken yet
  std::size_t sent = 0;       // of `pending`
  ~Connection() { SSL_free(ssl); }
};

int fail(const char* what) {
  std::fprintf(stderr, "raw_openssl_epoll: %s: %s\n", what, std::strerror(errno));
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  peers::Args args = peers::parse_args(argc, argv);

  sigset_t wait_mask = peers::block_stop_signals();

  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  peers::use_bench_credentials(ctx);
  SSL_CTX_set_read_ahead(ctx, 1);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

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
  std::vector<char> buffer(256 * 1024);
  std::vector<epoll_event> events(256);
  std::uint64_t echoed = 0;
  bool busy = false;  // the last wait returned events
  int poll_budget = 64;

  auto drop = [&](int fd) {
    conns[static_cast<std::size_t>(fd)].reset();
    close(fd);  // also removes it from the epoll set
  };
  auto watch = [&](int fd, std::uint32_t what) {
    epoll_event e{};
    e.events = what;
    e.data.fd = fd;
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
  };
  // Writes `pending` on; false when the connection failed.
  auto flush = [&](int fd, Connection& conn) {
    while (conn.sent < conn.pending.size()) {
      int w = SSL_write(conn.ssl, conn.pending.data() + conn.sent,
                        static_cast<int>(conn.pending.size() - conn.sent));
      if (w <= 0) return SSL_get_error(conn.ssl, w) == SSL_ERROR_WANT_WRITE;
      conn.sent += static_cast<std::size_t>(w);
      echoed += static_cast<std::uint64_t>(w);
    }
    conn.pending.clear();
    conn.sent = 0;
    watch(fd, EPOLLIN);
    return true;
  };

  while (!peers::stop_requested && (args.stop_after_bytes == 0 || echoed < args.stop_after_bytes)) {
    const int max = static_cast<int>(events.size());
    int n = 0;
    if (busy) {
      for (int i = 0; i < poll_budget && n == 0; ++i) {
        n = epoll_pwait(ep, events.data(), max, 0, &wait_mask);
      }
      poll_budget = n != 0 ? std::min(poll_budget * 2, 64) : std::max(poll_budget / 2, 4);
    }
    if (n == 0) n = epoll_pwait(ep, events.data(), max, -1, &wait_mask);
    busy = n > 0;
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
          conns[c]->ssl = SSL_new(ctx);
          SSL_set_fd(conns[c]->ssl, c);
          SSL_set_accept_state(conns[c]->ssl);
        });
        continue;
      }
      Connection& conn = *conns[fd];
      if (!conn.handshaken) {
        int r = SSL_do_handshake(conn.ssl);
        if (r != 1) {
          int err = SSL_get_error(conn.ssl, r);
          if (err == SSL_ERROR_WANT_READ) {
            watch(fd, EPOLLIN);
          } else if (err == SSL_ERROR_WANT_WRITE) {
            watch(fd, EPOLLOUT);
          } else {
            ERR_clear_error();
            drop(fd);
          }
          continue;
        }
        // Done. The client's first records may have come with its Finished,
        // into the read-ahead buffer, where epoll cannot see them: read on.
        conn.handshaken = true;
        watch(fd, EPOLLIN);
      }
      if (!conn.pending.empty()) {  // writable again: finish the refused echo
        if (!flush(fd, conn)) drop(fd);
        continue;
      }
      // Records until the socket (and OpenSSL's read-ahead buffer) is empty;
      // level-triggered, so a WANT_READ leaves the rest to the next event.
      for (;;) {
        int r = SSL_read(conn.ssl, buffer.data(), static_cast<int>(buffer.size()));
        if (r <= 0) {
          if (SSL_get_error(conn.ssl, r) != SSL_ERROR_WANT_READ) {
            ERR_clear_error();
            drop(fd);
          }
          break;
        }
        int w = SSL_write(conn.ssl, buffer.data(), r);
        if (w < 0 && SSL_get_error(conn.ssl, w) != SSL_ERROR_WANT_WRITE) {
          ERR_clear_error();
          drop(fd);
          break;
        }
        w = std::max(w, 0);
        echoed += static_cast<std::uint64_t>(w);
        if (w < r) {
          conn.pending.assign(buffer.data() + w, buffer.data() + r);
          watch(fd, EPOLLOUT);
          break;
        }
        if (!SSL_has_pending(conn.ssl)) break;
      }
    }
  }
  conns.clear();
  close(listener);
  close(ep);
  SSL_CTX_free(ctx);
  return 0;
}
