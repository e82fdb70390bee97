// The soak test's clients (scripts/soak), on raw epoll: they owe nothing to
// aiocpp, so that they judge its server from outside.
//
//   soak_client --port P [--connections N] [--duration S] [--sources K]
//               [--max-idle S] [--seed X]     the soak: N connections held
//   soak_client --port P --probe              one echo, half-closed
//   soak_client --port P --idle N             N connections that each echo
//                                             64 bytes, then stay open until
//                                             stdin closes ("ready" on stdout)
//
// Each connection lives a series of lives: connect from one of K source
// addresses (127.0.0.2 ...), stay idle a random while, then one exchange of a
// random kind, then reconnect:
//   echo       send T bytes, read the echo of all of them, close;
//   half-close send T bytes, shutdown(SHUT_WR), read all T, then EOF;
//   reset      send T bytes, read part of the echo, SO_LINGER 0 and close
//              (an RST while the server may still be writing);
//   slow       send T (up to 1 MiB) into a small receive buffer read 8 KiB
//              per 50 ms: the server's write buffer fills and its flow
//              control (pause_reading) engages.
// Every life sends its own deterministic byte stream (stream_byte), and each
// byte that comes back is compared with it: every byte the server took is
// echoed intact, in order, or the run fails. When the duration is over, idle
// connections close and the others finish their exchange.
//
// Prints one summary line; exits 0 if no byte was wrong and no connection
// failed other than by the client's own reset, 1 otherwise, 2 on bad usage.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

enum class Kind { echo, half_close, reset, slow, idle };
const char* const kind_names[] = {"echo", "half-close", "reset", "slow", "idle"};

struct Options {
  int port = 0;
  std::size_t connections = 10000;
  double duration = 30;
  int sources = 8;
  double max_idle = 20;
  std::uint64_t seed = 1;
  bool probe = false;
  bool idle = false;  // --idle N: hold N quiet connections
};

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Bytes [offset, offset + n) of life `key`'s stream: what the client sends
// there, so what the echo must bring back there. Eight bytes per word.
void stream_bytes(std::uint64_t key, std::uint64_t offset, unsigned char* out, std::size_t n) {
  std::uint64_t block = ~0ull, word = 0;
  for (std::size_t i = 0; i < n; ++i, ++offset) {
    if (offset >> 3 != block) {
      block = offset >> 3;
      word = splitmix(key ^ block * 0x100000001b3ull);
    }
    out[i] = static_cast<unsigned char>(word >> ((offset & 7) * 8));
  }
}

struct Conn {
  int fd = -1;
  std::size_t index = 0;
  std::uint64_t key = 0;  // this life's stream
  std::uint32_t life = 0;
  Kind kind = Kind::echo;
  bool connecting = false;
  bool exchanging = false;  // past the idle wait
  bool write_shut = false;
  std::uint64_t target = 0;  // bytes this life sends
  std::uint64_t sent = 0;
  std::uint64_t received = 0;
  std::uint64_t reset_after = 0;  // reset: received bytes before the RST
  std::size_t slow_allowance = 0;
};

struct Stats {
  std::uint64_t lives = 0, verified = 0, errors = 0, connect_errors = 0;
  std::uint64_t by_kind[5] = {};
  std::size_t open = 0, peak_open = 0;
};

class Client {
 public:
  explicit Client(const Options& options)
      : options_(options), rng_(options.seed), conns_(options.connections) {}

  int run() {
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) return fail_errno("epoll_create1");
    double start = now();
    // A probe and idle connections end when their exchange, or stdin, does.
    end_ = options_.probe || options_.idle ? HUGE_VAL : start + options_.duration;
    for (std::size_t i = 0; i < conns_.size(); ++i) {
      conns_[i].index = i;
      to_connect_.push_back(i);
    }
    bool announced = false;
    std::vector<epoll_event> events(1024);
    while (true) {
      double t = now();
      if (t >= end_ && !stopping_) stop_lives();
      if (options_.idle && !announced && idle_ready_ == conns_.size()) {
        std::printf("ready %zu\n", idle_ready_);
        std::fflush(stdout);
        announced = true;
        watch_stdin();
      }
      start_connects();
      run_timers(t);
      if (stats_.open == 0 && to_connect_.empty() && (stopping_ || options_.probe)) break;
      if (errors_fatal()) break;
      int timeout = timers_.empty() ? 10 : std::clamp(int((timers_.top().at - t) * 1000), 0, 10);
      int n = epoll_wait(epoll_, events.data(), int(events.size()), timeout);
      if (n < 0 && errno != EINTR) return fail_errno("epoll_wait");
      for (int i = 0; i < n; ++i) {
        if (events[i].data.u64 == stdin_tag) {
          epoll_ctl(epoll_, EPOLL_CTL_DEL, 0, nullptr);
          stop_lives();
          continue;
        }
        drive(conns_[events[i].data.u64]);
      }
      if (options_.duration > 0 && now() > end_ + 120) {
        std::fprintf(stderr, "soak_client: exchanges still running 120 s after the end\n");
        ++stats_.errors;
        break;
      }
    }
    std::printf(
        "lives=%llu peak_open=%zu verified_bytes=%llu echo=%llu half_close=%llu reset=%llu "
        "slow=%llu connect_errors=%llu errors=%llu\n",
        ull(stats_.lives), stats_.peak_open, ull(stats_.verified), ull(stats_.by_kind[0]),
        ull(stats_.by_kind[1]), ull(stats_.by_kind[2]), ull(stats_.by_kind[3]),
        ull(stats_.connect_errors), ull(stats_.errors));
    for (Conn& c : conns_) close_fd(c);
    close(epoll_);
    return stats_.errors == 0 && stats_.connect_errors == 0 ? 0 : 1;
  }

 private:
  static constexpr std::uint64_t stdin_tag = ~0ull;
  static constexpr std::size_t max_connecting = 256;
  struct Timer {
    double at;
    std::size_t index;
    std::uint32_t life;
    bool operator>(const Timer& o) const { return at > o.at; }
  };

  static unsigned long long ull(std::uint64_t v) { return v; }
  int fail_errno(const char* what) {
    std::fprintf(stderr, "soak_client: %s: %s\n", what, std::strerror(errno));
    return 1;
  }
  bool errors_fatal() const { return stats_.errors > 100; }
  void error(const Conn& c, const std::string& what) {
    if (++stats_.errors <= 20) {
      std::fprintf(stderr, "soak_client: connection %zu life %u (%s): %s\n", c.index, c.life,
                   kind_names[int(c.kind)], what.c_str());
    }
  }

  // Connects at most max_connecting at a time: thousands of SYNs at once
  // overflow the listen backlog and then wait for retransmission.
  void start_connects() {
    while (!to_connect_.empty() && connecting_ < max_connecting && !stopping_) {
      Conn& c = conns_[to_connect_.back()];
      to_connect_.pop_back();
      begin_life(c);
    }
    if (stopping_) to_connect_.clear();
  }

  void begin_life(Conn& c) {
    ++c.life;
    ++stats_.lives;
    c.key = splitmix(options_.seed * 1000003 + c.index * 7919 + c.life);
    c.sent = c.received = 0;
    c.write_shut = c.exchanging = false;
    c.slow_allowance = 0;
    std::uniform_int_distribution<int> pick(0, 99);
    int p = pick(rng_);
    if (options_.idle) {
      c.kind = Kind::idle;
      c.target = 64;
    } else if (options_.probe) {
      c.kind = Kind::half_close;
      c.target = 100000;
    } else {
      c.kind = p < 60 ? Kind::echo : p < 80 ? Kind::half_close : p < 96 ? Kind::reset : Kind::slow;
      std::uniform_int_distribution<std::uint64_t> small(1, 16384), big(262144, 1 << 20);
      c.target = c.kind == Kind::slow ? big(rng_) : small(rng_);
      std::uniform_int_distribution<std::uint64_t> part(0, c.target);
      c.reset_after = part(rng_);
    }
    ++stats_.by_kind[int(c.kind)];

    c.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c.fd < 0) {
      fail_errno("socket");
      ++stats_.connect_errors;
      return;
    }
    int one = 1;
    // The port is chosen at connect, per destination: TIME_WAIT pairs of
    // earlier lives then do not use up a source address's ports at bind.
    setsockopt(c.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    if (c.kind == Kind::slow) {
      // A small window, and a small MSS: loopback's 64 KiB segments would
      // let the server's kernel autotune its send buffer to megabytes, which
      // would absorb the backlog before the server's own buffer saw it.
      int small = 4096, segment = 1024;
      setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      setsockopt(c.fd, IPPROTO_TCP, TCP_MAXSEG, &segment, sizeof segment);
    }
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f000002u + std::uint32_t(c.index % options_.sources));
    if (bind(c.fd, reinterpret_cast<sockaddr*>(&source), sizeof source) != 0) {
      connect_failed(c, "bind");
      return;
    }
    sockaddr_in server{};
    server.sin_family = AF_INET;
    server.sin_port = htons(std::uint16_t(options_.port));
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c.fd, reinterpret_cast<sockaddr*>(&server), sizeof server) != 0 &&
        errno != EINPROGRESS) {
      connect_failed(c, "connect");
      return;
    }
    c.connecting = true;
    ++connecting_;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = c.index;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, c.fd, &ev);
    stats_.peak_open = std::max(stats_.peak_open, ++stats_.open);
  }

  void connect_failed(Conn& c, const char* what) {
    if (++stats_.connect_errors <= 20) {
      std::fprintf(stderr, "soak_client: connection %zu: %s: %s\n", c.index, what,
                   std::strerror(errno));
    }
    ::close(c.fd);
    c.fd = -1;
  }

  void close_fd(Conn& c) {
    if (c.fd < 0) return;
    if (c.connecting) --connecting_;
    c.connecting = false;
    ::close(c.fd);
    c.fd = -1;
    --stats_.open;
  }

  // The life is over: close, and start the next one unless the run is.
  void end_life(Conn& c, bool reset) {
    if (reset) {
      linger no_linger{1, 0};
      setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &no_linger, sizeof no_linger);
    }
    close_fd(c);
    if (!stopping_ && !options_.probe) to_connect_.push_back(c.index);
  }

  void after(double delay, Conn& c) { timers_.push({now() + delay, c.index, c.life}); }

  void run_timers(double t) {
    while (!timers_.empty() && timers_.top().at <= t) {
      Timer timer = timers_.top();
      timers_.pop();
      Conn& c = conns_[timer.index];
      if (c.fd < 0 || c.life != timer.life) continue;  // an earlier life's
      if (!c.exchanging) c.exchanging = true;
      if (c.kind == Kind::slow) {
        c.slow_allowance = 8192;
        after(0.05, c);
      }
      drive(c);
    }
  }

  // The run is over: idle connections close; exchanges finish (--idle's
  // connections, done with theirs, close too).
  void stop_lives() {
    if (stopping_) return;
    stopping_ = true;
    for (Conn& c : conns_) {
      if (c.fd >= 0 && !c.connecting && (!c.exchanging || c.kind == Kind::idle)) close_fd(c);
    }
  }

  void watch_stdin() {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLHUP;
    ev.data.u64 = stdin_tag;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, 0, &ev);
  }

  void drive(Conn& c) {
    if (c.fd < 0) return;
    if (c.connecting) {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        sockaddr_in peer{};
        socklen_t plen = sizeof peer;
        if (getpeername(c.fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) return;  // not yet
      }
      c.connecting = false;
      --connecting_;
      if (err != 0) {
        errno = err;
        connect_failed(c, "connect");
        --stats_.open;
        if (!stopping_) to_connect_.push_back(c.index);
        return;
      }
      if (stopping_) {
        close_fd(c);
        return;
      }
      if (c.kind == Kind::idle || options_.probe) {
        c.exchanging = true;
      } else {
        std::uniform_real_distribution<double> wait(0, options_.max_idle);
        after(wait(rng_), c);
      }
    }
    if (!c.exchanging) {
      // Idle: nothing is due, but the server must not have gone away.
      char byte;
      ssize_t n = recv(c.fd, &byte, 1, MSG_PEEK);
      if (n == 0 || (n < 0 && errno != EAGAIN)) {
        error(c, n == 0 ? "EOF while idle" : std::string("recv while idle: ") + strerror(errno));
        end_life(c, false);
      }
      return;
    }
    if (!send_some(c)) return;
    if (!receive_some(c)) return;
    if (c.kind == Kind::reset && c.sent == c.target && c.received >= c.reset_after) {
      end_life(c, true);
    } else if (c.kind == Kind::half_close && c.sent == c.target && !c.write_shut) {
      shutdown(c.fd, SHUT_WR);
      c.write_shut = true;
      receive_some(c);
    } else if ((c.kind == Kind::echo || c.kind == Kind::slow) && c.received == c.target) {
      end_life(c, false);
    }
  }

  // Sends what the socket takes of this life's stream; false if it ended.
  bool send_some(Conn& c) {
    unsigned char chunk[16384];
    while (c.sent < c.target) {
      std::size_t n = std::min<std::uint64_t>(sizeof chunk, c.target - c.sent);
      stream_bytes(c.key, c.sent, chunk, n);
      ssize_t rc = send(c.fd, chunk, n, MSG_NOSIGNAL);
      if (rc < 0) {
        if (errno == EAGAIN) return true;
        error(c, std::string("send: ") + std::strerror(errno));
        end_life(c, false);
        return false;
      }
      c.sent += std::uint64_t(rc);
    }
    return true;
  }

  // Reads and checks what came back; false if the life ended.
  bool receive_some(Conn& c) {
    char chunk[16384];
    while (true) {
      std::size_t want = sizeof chunk;
      if (c.kind == Kind::slow) {
        if (c.slow_allowance == 0) return true;
        want = std::min(want, c.slow_allowance);
      }
      if (c.kind == Kind::reset) {
        if (c.sent == c.target && c.received >= c.reset_after) return true;
        if (c.reset_after > c.received)
          want = std::min<std::uint64_t>(want, c.reset_after - c.received);
      }
      ssize_t rc = recv(c.fd, chunk, want, 0);
      if (rc < 0) {
        if (errno == EAGAIN) return true;
        error(c, std::string("recv: ") + std::strerror(errno));
        end_life(c, false);
        return false;
      }
      if (rc == 0) {
        if (c.kind != Kind::half_close || !c.write_shut || c.received != c.target) {
          error(c, "EOF after " + std::to_string(c.received) + " of " + std::to_string(c.sent) +
                       " bytes sent");
        }
        end_life(c, false);
        return false;
      }
      if (c.received + std::uint64_t(rc) > c.sent) {
        error(c, "more bytes came back than were sent");
        end_life(c, false);
        return false;
      }
      unsigned char expected[sizeof chunk];
      stream_bytes(c.key, c.received, expected, std::size_t(rc));
      if (std::memcmp(chunk, expected, std::size_t(rc)) != 0) {
        auto at = std::mismatch(expected, expected + rc, chunk).first - expected;
        error(c, "byte " + std::to_string(c.received + std::uint64_t(at)) + " differs");
        end_life(c, false);
        return false;
      }
      c.received += std::uint64_t(rc);
      stats_.verified += std::uint64_t(rc);
      if (c.kind == Kind::slow) c.slow_allowance -= std::size_t(rc);
      if (c.kind == Kind::idle && c.received == c.target) ++idle_ready_;
    }
  }

  Options options_;
  std::mt19937_64 rng_;
  std::vector<Conn> conns_;
  std::vector<std::size_t> to_connect_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<Timer>> timers_;
  Stats stats_;
  std::size_t connecting_ = 0;
  std::size_t idle_ready_ = 0;
  double end_ = 0;
  bool stopping_ = false;
  int epoll_ = -1;
};

// Room for every connection's descriptor, or a clear refusal.
bool raise_descriptor_limit(std::size_t connections) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  rlim_t need = connections + 64;
  if (limit.rlim_cur >= need) return true;
  limit.rlim_cur = need;
  if (limit.rlim_max < need) limit.rlim_max = need;
  if (setrlimit(RLIMIT_NOFILE, &limit) == 0) return true;
  std::fprintf(stderr,
               "soak_client: cannot raise RLIMIT_NOFILE to %llu for %zu connections: %s "
               "(raising the hard limit needs root)\n",
               static_cast<unsigned long long>(need), connections, std::strerror(errno));
  return false;
}

int usage(const char* message) {
  std::fprintf(stderr,
               "soak_client: %s\nusage: soak_client --port P [--connections N] [--duration S] "
               "[--sources K] [--max-idle S] [--seed X] | --probe | --idle N\n",
               message);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--probe") {
      options.probe = true;
      options.connections = 1;
      continue;
    }
    if (i + 1 >= argc) return usage((name + " needs a value").c_str());
    char* end = nullptr;
    double value = std::strtod(argv[++i], &end);
    if (*end != '\0' || value < 0) return usage(("bad value for " + name).c_str());
    if (name == "--port") {
      options.port = int(value);
    } else if (name == "--connections") {
      options.connections = std::size_t(value);
    } else if (name == "--idle") {
      options.idle = true;
      options.connections = std::size_t(value);
    } else if (name == "--duration") {
      options.duration = value;
    } else if (name == "--sources") {
      options.sources = std::clamp(int(value), 1, 250);
    } else if (name == "--max-idle") {
      options.max_idle = value;
    } else if (name == "--seed") {
      options.seed = std::uint64_t(value);
    } else {
      return usage(("unknown option " + name).c_str());
    }
  }
  if (options.port <= 0 || options.port > 65535) return usage("--port is needed");
  if (options.connections == 0) return usage("--connections must be positive");
  if (!raise_descriptor_limit(options.connections)) return 1;
  return Client(options).run();
}
