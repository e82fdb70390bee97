#pragma once
// Helpers shared by the udp_*.cpp tests: a datagram protocol that records its
// calls and lets a test wait for datagrams and errors, temporary unix socket
// paths, and a check for IPv6 on the loopback interface.

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "tcp_helpers.hpp"

namespace udp_test {

using namespace aiocpp;
using tcp_test::arrives;
using tcp_test::complete;
using tcp_test::describe;
using tcp_test::errno_of;
using tcp_test::HandlerLog;
using tcp_test::kTimeout;

// Records every call: "CM", "DR" (datagram_received), "ER" (error_received),
// "PW", "RW", "CL".
class DgramRecorder : public DatagramProtocol {
 public:
  struct Datagram {
    std::string data;
    SocketAddress from;
  };

  void connection_made(DatagramTransport& t) override {
    calls.push_back("CM");
    transport = &t;
    kept = std::dynamic_pointer_cast<DatagramTransport>(t.shared_from_this());
    complete(made);
  }
  void datagram_received(std::string_view data, const SocketAddress& from) override {
    calls.push_back("DR");
    datagrams.push_back({std::string(data), from});
    if (echo) transport->sendto(data, from);
    if (datagrams.size() >= want_datagrams) complete(got_datagrams);
  }
  void error_received(std::exception_ptr e) override {
    calls.push_back("ER");
    errors.push_back(e);
    if (errors.size() >= want_errors) complete(got_errors);
  }
  void connection_lost(std::exception_ptr e) override {
    calls.push_back("CL");
    error = e;
    complete(lost);
  }
  void pause_writing() override {
    calls.push_back("PW");
    buffer_at_pause = transport->get_write_buffer_size();
  }
  void resume_writing() override {
    calls.push_back("RW");
    buffer_at_resume = transport->get_write_buffer_size();
  }

  // Waits until `n` datagrams have arrived in total.
  Task<bool> wait_datagrams(std::size_t n, double timeout = kTimeout) {
    want_datagrams = n;
    got_datagrams = get_running_loop().create_future<void>();
    if (datagrams.size() >= n) complete(got_datagrams);
    co_return co_await arrives(got_datagrams, "datagram " + std::to_string(n), timeout);
  }
  // Waits until `n` errors have been received in total.
  Task<bool> wait_errors(std::size_t n, double timeout = kTimeout) {
    want_errors = n;
    got_errors = get_running_loop().create_future<void>();
    if (errors.size() >= n) complete(got_errors);
    co_return co_await arrives(got_errors, "error_received " + std::to_string(n), timeout);
  }

  int count(const std::string& call) const {
    return static_cast<int>(std::count(calls.begin(), calls.end(), call));
  }

  DatagramTransport* transport = nullptr;
  std::shared_ptr<DatagramTransport> kept;
  std::vector<std::string> calls;
  std::vector<Datagram> datagrams;
  std::vector<std::exception_ptr> errors;
  std::exception_ptr error;
  bool echo = false;
  std::size_t buffer_at_pause = 0;
  std::size_t buffer_at_resume = 0;
  std::size_t want_datagrams = 1;
  Future<void> made = get_running_loop().create_future<void>();
  Future<void> lost = get_running_loop().create_future<void>();
  Future<void> got_datagrams = get_running_loop().create_future<void>();
  std::size_t want_errors = 1;
  Future<void> got_errors = get_running_loop().create_future<void>();
};

inline std::shared_ptr<DgramRecorder> make_recorder() { return std::make_shared<DgramRecorder>(); }
inline std::shared_ptr<DgramRecorder> make_echo() {
  auto p = std::make_shared<DgramRecorder>();
  p->echo = true;
  return p;
}

// (host, port) as DatagramEndpointOptions takes it.
inline std::pair<std::string, int> addr(std::string host, int port) {
  return {std::move(host), port};
}

// Closes a transport and waits for its connection_lost.
inline Task<void> close_and_wait(DatagramTransport& t, DgramRecorder& p) {
  t.close();
  co_await arrives(p.lost, "connection_lost");
}

// A path in a fresh temporary directory; remove_temp() deletes both.
inline std::string temp_socket_path(const char* name = "sock") {
  char dir[] = "/tmp/aiocpp-udp-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/" + name;
}

inline void remove_temp(const std::string& path) {
  ::unlink(path.c_str());
  ::rmdir(path.substr(0, path.rfind('/')).c_str());
}

inline bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Whether a UDP socket can bind to ::1 (no IPv6 in some containers).
inline bool have_ipv6_loopback() {
  int fd = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  SocketAddress a = SocketAddress::from_ip("::1", 0);
  bool ok = ::bind(fd, a.data(), a.size()) == 0;
  ::close(fd);
  return ok;
}

// A UDP port on 127.0.0.1 where nothing listens (bound, then closed).
inline int unused_udp_port() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  SocketAddress a = SocketAddress::from_ip("127.0.0.1", 0);
  ::bind(fd, a.data(), a.size());
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  int port = SocketAddress(reinterpret_cast<sockaddr*>(&ss), len).port();
  ::close(fd);
  return port;
}

}  // namespace udp_test
