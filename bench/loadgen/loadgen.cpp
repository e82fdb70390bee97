// A neutral echo load generator: raw epoll, one thread, nothing from aiocpp,
// so that every server it measures is measured by the same client.
//
// Each connection keeps `depth` messages in flight (1: ping-pong, send a
// message and wait for all of it to come back). A message's latency runs from
// the moment it may be sent to the moment its last byte is back. Every echoed
// byte is compared with what was sent (pattern.hpp); a message with any wrong
// byte counts as an error. The result is one JSON object on stdout; the exit
// status is 0 only for a run with no error. With --tls, each connection is
// OpenSSL over its socket, its handshake done (blocking) before the run.
//
// With --rate the run is open-loop: message k falls due at start + k/R on
// connection k mod N, whether or not the server keeps up, so a server's CPU
// per request can be compared at one offered load (servers that batch more
// under saturation are not flattered), and latency counts from when a
// message was due, not from when a slow server let it be sent.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <vector>

#include "histogram.hpp"
#include "options.hpp"
#include "pattern.hpp"

namespace loadgen {
namespace {

std::uint64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + ts.tv_nsec;
}

[[noreturn]] void die(const std::string& what) {
  // Still one JSON object, so a runner that parses stdout learns why.
  std::printf("{\"error\": \"%s\"}\n", what.c_str());
  std::fprintf(stderr, "loadgen: %s\n", what.c_str());
  std::exit(1);
}

struct Connection {
  int fd = -1;
  SSL* ssl = nullptr;  // with --tls
  std::size_t index = 0;
  std::uint64_t sent = 0;               // bytes
  std::uint64_t received = 0;           // bytes
  std::uint64_t started = 0;            // messages that may be sent
  std::uint64_t completed = 0;          // messages fully echoed
  bool current_bad = false;             // the message being received has a wrong byte
  std::vector<std::uint64_t> start_ns;  // ring of `depth` start times
  std::deque<std::uint64_t> due;        // --rate: due times of messages not yet started
};

class Run {
 public:
  explicit Run(const Options& o)
      : o_(o),
        pattern_(
            std::max<std::size_t>(64 * 1024, std::min<std::size_t>(o.size * o.depth, 4u << 20))),
        read_buffer_(256 * 1024) {}

  int go() {
    connect_all();
    start_ = now_ns();
    deadline_ = start_ + seconds(o_.timeout);
    fixed_ = o_.requests > 0;
    budget_ = o_.requests;
    measure_from_ = fixed_ ? start_ : start_ + seconds(o_.warmup);
    measure_until_ = fixed_ ? UINT64_MAX : measure_from_ + seconds(o_.duration);
    rated_ = o_.rate > 0;
    // Wake-ups on time: the default 50 µs of timer slack is a whole interval at 20,000/s.
    if (rated_) prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    std::uint64_t now = now_ns();
    if (rated_) {
      release_due(now);
    } else {
      for (auto& c : conns_) {
        start_messages(c, now);
        pump(c);
      }
    }
    loop();
    std::uint64_t end = now_ns();
    for (auto& c : conns_) {
      SSL_free(c.ssl);
      close(c.fd);
    }
    SSL_CTX_free(tls_);
    report(end);
    return errors_ == 0 ? 0 : 1;
  }

 private:
  static std::uint64_t seconds(double s) { return static_cast<std::uint64_t>(s * 1e9); }

  void connect_all() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) die(std::string("epoll_create1: ") + std::strerror(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(o_.port));
    if (inet_pton(AF_INET, o_.host.c_str(), &addr.sin_addr) != 1) {
      die("--host must be an IPv4 address, got '" + o_.host + "'");
    }
    conns_.resize(static_cast<std::size_t>(o_.connections));
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      Connection& c = conns_[i];
      c.index = i;
      c.start_ns.resize(static_cast<std::size_t>(o_.depth));
      c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (c.fd < 0) die(std::string("socket: ") + std::strerror(errno));
      // Blocking connect: set-up is not measured, and loopback answers at once.
      if (connect(c.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        die("connect to " + o_.host + ":" + std::to_string(o_.port) + ": " + std::strerror(errno));
      }
      int one = 1;
      setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (o_.tls) handshake(c);
      int flags = fcntl(c.fd, F_GETFL);
      if (flags < 0 || fcntl(c.fd, F_SETFL, flags | O_NONBLOCK) != 0) {
        die(std::string("fcntl: ") + std::strerror(errno));
      }
      // Edge-triggered, both directions, registered once: no epoll_ctl afterwards.
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP;
      ev.data.u64 = i;
      if (epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev) != 0) {
        die(std::string("epoll_ctl: ") + std::strerror(errno));
      }
    }
  }

  // TLS 1.3 and AES-128-GCM, the cell's settings; the handshake blocks.
  void handshake(Connection& c) {
    if (!tls_) {
      tls_ = SSL_CTX_new(TLS_client_method());
      SSL_CTX_set_min_proto_version(tls_, TLS1_3_VERSION);
      SSL_CTX_set_ciphersuites(tls_, "TLS_AES_128_GCM_SHA256");
      SSL_CTX_set_mode(tls_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
      // A fixed run's server exits once its budget is echoed, without
      // close_notify: that end reads as recv's 0, not as an error.
      SSL_CTX_set_options(tls_, SSL_OP_IGNORE_UNEXPECTED_EOF);
    }
    c.ssl = SSL_new(tls_);
    SSL_set_fd(c.ssl, c.fd);
    if (SSL_connect(c.ssl) != 1) die("TLS handshake on connection " + std::to_string(c.index));
  }

  // send / recv, or their TLS counterparts: > 0 bytes, 0 at EOF, < 0 with
  // errno EAGAIN (or another errno) otherwise.
  ssize_t io_send(Connection& c, const void* data, std::size_t len) {
    if (!c.ssl) return send(c.fd, data, len, MSG_NOSIGNAL);
    int n = SSL_write(c.ssl, data, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
    return n > 0 ? n : tls_failure(c, n);
  }
  ssize_t io_recv(Connection& c, void* data, std::size_t len) {
    if (!c.ssl) return recv(c.fd, data, len, 0);
    int n = SSL_read(c.ssl, data, static_cast<int>(std::min<std::size_t>(len, 1 << 30)));
    return n > 0 ? n : tls_failure(c, n);
  }
  ssize_t tls_failure(Connection& c, int n) {
    int err = SSL_get_error(c.ssl, n);
    if (err == SSL_ERROR_ZERO_RETURN) return 0;
    errno = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? EAGAIN
            : errno != 0                                              ? errno
                                                                      : EPROTO;
    return -1;
  }

  // A duration run starts messages until it ends; a fixed run until its budget is spent.
  bool may_start() const { return !fixed_ || budget_ > 0; }

  // --rate: when message k falls due.
  std::uint64_t due_at(std::uint64_t k) const {
    return start_ + static_cast<std::uint64_t>(static_cast<double>(k) * 1e9 / o_.rate);
  }

  // --rate: hands every message due by `now` to its connection, and sends it
  // if the connection has room.
  void release_due(std::uint64_t now) {
    for (std::uint64_t at = due_at(offered_); at <= now && at < measure_until_;
         at = due_at(offered_)) {
      Connection& c = conns_[offered_ % conns_.size()];
      c.due.push_back(at);
      ++offered_;
      start_messages(c, now);
      pump(c);
    }
  }

  void start_messages(Connection& c, std::uint64_t now) {
    if (rated_) {
      while (c.started - c.completed < static_cast<std::uint64_t>(o_.depth) && !c.due.empty()) {
        c.start_ns[c.started % c.start_ns.size()] = c.due.front();  // latency from when due
        c.due.pop_front();
        ++c.started;
      }
      return;
    }
    while (c.started - c.completed < static_cast<std::uint64_t>(o_.depth) && may_start()) {
      c.start_ns[c.started % c.start_ns.size()] = now;
      ++c.started;
      if (fixed_) --budget_;
    }
  }

  // Sends what may be sent, until the kernel refuses (EPOLLOUT will say when to resume).
  void pump(Connection& c) {
    std::uint64_t target = c.started * o_.size;
    while (c.sent < target) {
      std::size_t len =
          static_cast<std::size_t>(std::min<std::uint64_t>(target - c.sent, pattern_.tail()));
      ssize_t n = io_send(c, pattern_.at(c.index, c.sent), len);
      if (n > 0) {
        c.sent += static_cast<std::uint64_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && errno == EAGAIN) {
        return;
      } else {
        die("send on connection " + std::to_string(c.index) + ": " + std::strerror(errno));
      }
    }
  }

  // Checks `n` received bytes against the stream; returns how many differ.
  std::size_t check(Connection& c, const unsigned char* data, std::size_t n) {
    std::size_t bad = 0;
    std::uint64_t offset = c.received;
    while (n > 0) {
      std::size_t len = std::min(n, pattern_.tail());
      const unsigned char* want = pattern_.at(c.index, offset);
      if (std::memcmp(data, want, len) != 0) {
        for (std::size_t i = 0; i < len; ++i) bad += data[i] != want[i];
      }
      data += len, offset += len, n -= len;
    }
    return bad;
  }

  // Reads until the socket is drained; returns false when the server closed it.
  bool drain(Connection& c, std::uint64_t now) {
    for (;;) {
      ssize_t n = io_recv(c, read_buffer_.data(), read_buffer_.size());
      if (n == 0) return false;
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN) return true;
        die("recv on connection " + std::to_string(c.index) + ": " + std::strerror(errno));
      }
      auto got = static_cast<std::size_t>(n);
      if (c.received + got > c.sent) {
        die("connection " + std::to_string(c.index) + ": the server sent more than it received");
      }
      // Split at message boundaries so that a wrong byte is charged to its message.
      const unsigned char* p = read_buffer_.data();
      while (got > 0) {
        std::uint64_t into = c.received % o_.size;
        std::size_t part = static_cast<std::size_t>(std::min<std::uint64_t>(got, o_.size - into));
        std::size_t bad = check(c, p, part);
        if (bad) c.current_bad = true, mismatched_bytes_ += bad;
        c.received += part, p += part, got -= part;
        if (c.received % o_.size == 0) complete(c, now);
      }
      // A short read drained the socket; edge-triggered epoll reports new
      // data. (SSL_read returns a record at a time: read on to WANT_READ.)
      if (!c.ssl && static_cast<std::size_t>(n) < read_buffer_.size()) return true;
    }
  }

  void complete(Connection& c, std::uint64_t now) {
    std::uint64_t begun = c.start_ns[c.completed % c.start_ns.size()];
    ++c.completed;
    ++completed_total_;
    if (c.current_bad) ++errors_total_;
    if (now >= measure_from_ && now < measure_until_) {
      histogram_.record(now - begun);
      ++measured_;
      if (c.current_bad) ++errors_;
    }
    c.current_bad = false;
  }

  void loop() {
    std::vector<epoll_event> events(conns_.size());
    for (;;) {
      std::uint64_t now = now_ns();
      if (!fixed_ && now >= measure_until_) return;  // stops by itself
      if (fixed_ && completed_total_ == o_.requests) return;
      if (now >= deadline_) die("timed out after " + std::to_string(o_.timeout) + " s");
      std::uint64_t wake = std::min(deadline_, measure_until_);
      if (rated_) wake = std::min(wake, due_at(offered_));
      // Nanoseconds: a rated run's next message may be due in microseconds.
      std::uint64_t wait_ns = std::min<std::uint64_t>(wake > now ? wake - now : 0, 1'000'000'000);
      timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000),
                       static_cast<long>(wait_ns % 1'000'000'000)};
      int n =
          epoll_pwait2(epfd_, events.data(), static_cast<int>(events.size()), &timeout, nullptr);
      if (n < 0) {
        if (errno == EINTR) continue;
        die(std::string("epoll_wait: ") + std::strerror(errno));
      }
      now = now_ns();
      for (int i = 0; i < n; ++i) {
        Connection& c = conns_[events[i].data.u64];
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
          if (!drain(c, now)) {
            if (fixed_ && completed_total_ == o_.requests) return;
            // The server exits once the last byte of the budget is echoed,
            // and this connection, done, may see its end before the last
            // bytes of another are read.
            if (fixed_ && budget_ == 0 && c.completed == c.started) {
              epoll_ctl(epfd_, EPOLL_CTL_DEL, c.fd, nullptr);
              continue;
            }
            die("connection " + std::to_string(c.index) + " closed by the server after " +
                std::to_string(c.completed) + " messages");
          }
          start_messages(c, now);
        }
        pump(c);
      }
      if (rated_) release_due(now_ns());
    }
  }

  void report(std::uint64_t end) {
    double measured_s = fixed_ ? static_cast<double>(end - start_) / 1e9 : o_.duration;
    double rps = measured_ / measured_s;
    auto us = [&](double q) { return histogram_.percentile(q) / 1e3; };
    std::printf(
        "{\"mode\": \"%s\", \"host\": \"%s\", \"port\": %d, \"connections\": %d, \"size\": %zu, "
        "\"depth\": %d, \"warmup_s\": %.3f, \"duration_s\": %.3f, \"elapsed_s\": %.3f, "
        "\"requests\": %llu, \"requests_total\": %llu, \"requests_per_s\": %.1f, "
        "\"mib_per_s\": %.3f, \"latency_us\": {\"p50\": %.2f, \"p90\": %.2f, \"p99\": %.2f, "
        "\"p999\": %.2f, \"max\": %.2f, \"mean\": %.2f}, \"errors\": %llu, "
        "\"errors_total\": %llu, \"mismatched_bytes\": %llu, \"offered_per_s\": %.1f}\n",
        fixed_   ? "requests"
        : rated_ ? "rate"
                 : "duration",
        o_.host.c_str(), o_.port, o_.connections, o_.size, o_.depth, fixed_ ? 0.0 : o_.warmup,
        measured_s, static_cast<double>(end - start_) / 1e9,
        static_cast<unsigned long long>(measured_),
        static_cast<unsigned long long>(completed_total_), rps,
        rps * static_cast<double>(o_.size) / (1024.0 * 1024.0), us(0.50), us(0.90), us(0.99),
        us(0.999), static_cast<double>(histogram_.max()) / 1e3, histogram_.mean() / 1e3,
        static_cast<unsigned long long>(errors_), static_cast<unsigned long long>(errors_total_),
        static_cast<unsigned long long>(mismatched_bytes_), rated_ ? o_.rate : 0.0);
    if (errors_total_ > 0) {
      std::fprintf(stderr, "loadgen: %llu messages came back wrong (%llu bytes differ)\n",
                   static_cast<unsigned long long>(errors_total_),
                   static_cast<unsigned long long>(mismatched_bytes_));
    }
  }

  const Options& o_;
  Pattern pattern_;
  std::vector<unsigned char> read_buffer_;
  std::vector<Connection> conns_;
  Histogram histogram_;
  int epfd_ = -1;
  SSL_CTX* tls_ = nullptr;
  bool fixed_ = false;
  bool rated_ = false;         // --rate
  std::uint64_t offered_ = 0;  // --rate: messages released so far
  std::uint64_t budget_ = 0;
  std::uint64_t start_ = 0, deadline_ = 0, measure_from_ = 0, measure_until_ = 0;
  std::uint64_t completed_total_ = 0, measured_ = 0;
  std::uint64_t errors_ = 0, errors_total_ = 0, mismatched_bytes_ = 0;
};

}  // namespace
}  // namespace loadgen

int main(int argc, char** argv) {
  loadgen::Options options = loadgen::parse_options(argc, argv);
  loadgen::Run run(options);
  return run.go();
}
