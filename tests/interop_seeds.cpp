// The seeds' programs (examples/) against the seeds' own Python programs
// (tests/peers/, run by /usr/bin/python3) and against each other: each pair
// must exchange the seed's bytes and print the seed's lines. Also checks the
// bytes on the wire with plain sockets, and that the C++ servers stop cleanly
// on SIGTERM (under ASan that includes a leak check at exit).
//
// Ports are ephemeral: servers bind port 0 and print it; clients of the test's
// own sockets get the port of a socket the test listens on. All waits are
// bounded: a child's output is read until an expected line appears.
//
// Every test runs once per backend (the C++ programs get --backend; its name
// ends the test's), skipping where the backend lacks what the program needs
// (poem_server reads its stdin through a pipe transport).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <ostream>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "child_output.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::Backend;
using aiocpp::testing::backend_skip_reason;
using aiocpp::testing::ChildProcess;
using aiocpp::testing::describe_status;
using aiocpp::testing::exited_cleanly;
using aiocpp::testing::FdLeakCheck;
using aiocpp::testing::Feature;
using aiocpp::testing::feed_stdin;
using aiocpp::testing::Output;

enum class Impl { cpp, python };

const char* impl_name(Impl impl) { return impl == Impl::cpp ? "Cpp" : "Python"; }

std::string example_path(const std::string& name) {
  return std::string(AIOCPP_EXAMPLES_DIR) + "/" + name;
}
std::string peer_path(const std::string& name) {
  return std::string(AIOCPP_TEST_DIR) + "/peers/" + name + ".py";
}

bool available(Impl impl, const std::string& name) {
  if (impl == Impl::python) {
    return access(aiocpp::testing::python(), X_OK) == 0 &&
           access(peer_path(name).c_str(), R_OK) == 0;
  }
  return access(example_path(name).c_str(), X_OK) == 0;
}

#define SKIP_UNLESS_AVAILABLE(impl, name)                                                   \
  do {                                                                                      \
    if (!available(impl, name)) {                                                           \
      GTEST_SKIP() << impl_name(impl) << " " << (name) << " is not built or not installed"; \
    }                                                                                       \
  } while (0)

// The command line of a seed program: examples/<name> --backend BACKEND or
// python3 -u tests/peers/<name>.py.
std::vector<std::string> command(Impl impl, const std::string& name, Backend backend,
                                 std::vector<std::string> args = {}) {
  std::vector<std::string> argv;
  if (impl == Impl::cpp) {
    argv = {example_path(name), "--backend", std::string(aiocpp::backend_name(backend))};
  } else {
    argv = {aiocpp::testing::python(), "-u", peer_path(name)};
  }
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// Ports and peers' ports vary from run to run: replace them with PORT.
std::string normalize(std::string s) {
  s = std::regex_replace(s, std::regex(R"(\('127\.0\.0\.1', \d+\))"), "('127.0.0.1', PORT)");
  s = std::regex_replace(s, std::regex(R"(127\.0\.0\.1_\d+)"), "127.0.0.1_PORT");
  s = std::regex_replace(s, std::regex(R"(port \d+)"), "port PORT");
  return s;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// --- Running the programs ------------------------------------------------------------------

const std::regex kServingOn(R"(Serving on \('127\.0\.0\.1', (\d+)\))");
const std::regex kStartingUp(R"(main: starting up on \S+ port (\d+))");

struct RunningServer {
  Impl impl = Impl::cpp;
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<Output> output;
  int port = 0;

  // Stops the server: SIGTERM for a C++ one, which must then exit cleanly
  // (exit status 0, so no ASan report either); SIGKILL for a Python one.
  // Returns everything it printed.
  std::string stop() {
    if (impl == Impl::cpp) {
      kill(process->pid, SIGTERM);
      output->read_to_eof(10.0);
      int status = process->wait(10.0);
      EXPECT_TRUE(exited_cleanly(status)) << "server " << describe_status(status) << "; output:\n"
                                          << output->text();
    } else {
      process->kill();
      output->read_to_eof(5.0);
    }
    return output->text();
  }
};

// Starts a server on 127.0.0.1, port 0, and waits for the line that tells its port.
RunningServer start_server(Impl impl, const std::string& name, Backend backend,
                           const std::regex& ready, std::string_view stdin_text = "") {
  RunningServer server;
  server.impl = impl;
  server.process = aiocpp::testing::spawn(
      command(impl, name, backend, {"--host", "127.0.0.1", "--port", "0"}), true);
  feed_stdin(*server.process, stdin_text);
  server.output = std::make_unique<Output>(*server.process);
  std::string port = server.output->wait_for(ready, 10.0);
  EXPECT_FALSE(port.empty()) << name << " printed no ready line; output:\n"
                             << server.output->text();
  server.port = port.empty() ? 0 : std::stoi(port);
  return server;
}

struct Finished {
  std::string output;
  int status = -1;
};

// Runs a client to completion with `stdin_text` as its stdin.
Finished run_client(Impl impl, const std::string& name, Backend backend, int port,
                    std::string_view stdin_text = "") {
  auto child = aiocpp::testing::spawn(
      command(impl, name, backend, {"--host", "127.0.0.1", "--port", std::to_string(port)}), true);
  feed_stdin(*child, stdin_text);
  Output output(*child);
  EXPECT_TRUE(output.read_to_eof(10.0)) << name << " did not finish; output:\n" << output.text();
  Finished done;
  done.status = child->wait(10.0);
  done.output = output.text();
  return done;
}

// --- Plain sockets, for the bytes on the wire ------------------------------------------------

struct Fd {
  int fd = -1;
  explicit Fd(int f = -1) : fd(f) {}
  Fd(Fd&& o) noexcept : fd(o.fd) { o.fd = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd, o.fd);
    return *this;
  }
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

void set_timeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

sockaddr_in loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

Fd connect_to(int port) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  set_timeouts(s.fd, 5);
  sockaddr_in addr = loopback(port);
  if (aiocpp::testing::connect_retrying(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) !=
      0) {
    ADD_FAILURE() << "connect to port " << port << ": " << std::strerror(errno);
  }
  return s;
}

// Listens on 127.0.0.1 and an ephemeral port, which it stores in `port`.
Fd listen_on_loopback(int& port) {
  Fd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr = loopback(0);
  EXPECT_EQ(bind(s.fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(listen(s.fd, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(s.fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return s;
}

Fd accept_within(int listener, double timeout) {
  pollfd p{listener, POLLIN, 0};
  int ready;
  do {
    ready = poll(&p, 1, static_cast<int>(timeout * 1000));
  } while (ready < 0 && errno == EINTR);
  if (ready != 1) {
    ADD_FAILURE() << "no connection within " << timeout << "s";
    return Fd();
  }
  Fd s(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  set_timeouts(s.fd, 5);
  return s;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = aiocpp::testing::send_retrying(fd, data.data(), data.size());
    if (n <= 0) {
      ADD_FAILURE() << "send: " << std::strerror(errno);
      return;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// Receives `count` bytes, or fewer if the peer closes or 5 s pass.
std::string recv_exactly(int fd, std::size_t count) {
  std::string out;
  char buf[4096];
  while (out.size() < count) {
    ssize_t n = aiocpp::testing::recv_retrying(fd, buf, std::min(sizeof buf, count - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Receives until the peer's EOF; `eof` tells whether it came (rather than an error or timeout).
std::string recv_to_eof(int fd, bool* eof = nullptr) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = aiocpp::testing::recv_retrying(fd, buf, sizeof buf);
    if (n == 0) {
      if (eof) *eof = true;
      break;
    }
    if (n < 0) {
      if (eof) *eof = false;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// --- Seed 004: echo server and client ---------------------------------------------------------

const char kEchoClientOutput[] =
    "Data sent: 'Hello World!'\n"
    "Data received: 'Hello World!'\n"
    "The server closed the connection\n";

std::string echo_server_output(Impl) {
  return "Serving on ('127.0.0.1', PORT)\n"
         "Connection from ('127.0.0.1', PORT)\n"
         "Data received: 'Hello World!'\n"
         "Send: 'Hello World!'\n"
         "Close the client socket\n";
}

// --- Seed 002: the EOF echo server and client -----------------------------------------------

const std::vector<std::string> kMessages = {"This is the message. ", "It will be sent ",
                                            "in parts."};
const char kAllMessages[] = "This is the message. It will be sent in parts.";

// The payload of a log line "<prefix>b'...'" (the messages need no escapes).
bool take_bytes(const std::string& line, const std::string& prefix, std::string& payload) {
  if (line.rfind(prefix + "b'", 0) != 0 || line.size() < prefix.size() + 3 || line.back() != '\'')
    return false;
  payload = line.substr(prefix.size() + 2, line.size() - prefix.size() - 3);
  return true;
}

// The first line of seed 002's logs: the loop's selector (asyncio logs its
// proactor instead: the C++ programs do on io_uring).
std::string loop_line(Impl impl, Backend backend) {
  return impl == Impl::cpp && backend == Backend::io_uring
             ? "asyncio: Using proactor: IoUringProactor"
             : "asyncio: Using selector: EpollSelector";
}

// The client's log, seed 002: the echo may come in any number of pieces.
void check_eof_client_output(const std::string& raw, const std::string& first_line) {
  SCOPED_TRACE("client output:\n" + raw);
  std::vector<std::string> lines = split_lines(normalize(raw));
  std::vector<std::string> head = {
      first_line,
      "main: waiting for client to complete",
      "EchoClient: connectiong to 127.0.0.1 port PORT",
      "EchoClient: sending b'This is the message. '",
      "EchoClient: sending b'It will be sent '",
      "EchoClient: sending b'in parts.'",
  };
  ASSERT_GE(lines.size(), head.size() + 3);
  for (std::size_t i = 0; i < head.size(); ++i) EXPECT_EQ(lines[i], head[i]);
  std::size_t i = head.size();
  std::string echoed, piece;
  while (i < lines.size() && take_bytes(lines[i], "EchoClient: received ", piece)) {
    echoed += piece;
    ++i;
  }
  EXPECT_EQ(echoed, kAllMessages);
  ASSERT_EQ(lines.size(), i + 2);
  EXPECT_EQ(lines[i], "EchoClient: received EOF");
  EXPECT_EQ(lines[i + 1], "main: closing event loop");
}

// The server's log, seed 002, from its first line to the connection's "closing".
void check_eof_server_output(const std::string& raw, Impl impl, const std::string& first_line) {
  SCOPED_TRACE("server output:\n" + raw);
  std::vector<std::string> lines = split_lines(normalize(raw));
  ASSERT_GE(lines.size(), 7u);
  EXPECT_EQ(lines[0], first_line);
  EXPECT_EQ(lines[1], "main: starting up on 127.0.0.1 port PORT");
  const std::string name = "EchoServer_127.0.0.1_PORT: ";
  EXPECT_EQ(lines[2], name + "connection accepted");
  std::size_t i = 3;
  std::string echoed, received, sent;
  while (i + 1 < lines.size() && take_bytes(lines[i], name + "received ", received)) {
    EXPECT_TRUE(take_bytes(lines[i + 1], name + "sent ", sent)) << lines[i + 1];
    EXPECT_EQ(received, sent);
    echoed += received;
    i += 2;
  }
  EXPECT_EQ(echoed, kAllMessages);
  std::vector<std::string> tail = {name + "received EOF", name + "closing"};
  if (impl == Impl::cpp) {  // stopped by SIGTERM; the Python peer is killed
    tail.push_back("main: closing server");
    tail.push_back("main: closing event loop");
  }
  ASSERT_EQ(lines.size(), i + tail.size());
  for (std::size_t k = 0; k < tail.size(); ++k) EXPECT_EQ(lines[i + k], tail[k]);
}

// --- Seed 001: the poem server and client -----------------------------------------------------

const std::vector<std::string> kPoem = {
    "记得那年花下", "深夜", "初识谢娘时", "水堂西面画帘垂", "携手暗相期",
    "惆怅晓莺残月", "相别", "从此隔音尘", "如今俱是异乡人", "相见更无因"};

// Who answers from stdin when the poem runs out, and who meets the end of stdin.
enum class PoemEnding {
  server_stdin_ends,  // client answers "再见"; the server's stdin is empty: it closes
  client_stdin_ends,  // client answers "再见", the server "bye"; then the client's stdin ends
};

// The poem's exchange up to the last line, as the client prints it.
std::string poem_client_common() {
  std::string out = "我们一起来背诵 <<荷叶杯·记得那年花下>>\nmessage:  记得那年花下\n";
  for (std::size_t i = 1; i + 1 < kPoem.size(); i += 2) {
    out += "Data received: '" + kPoem[i] + "'\nData sent: '" + kPoem[i + 1] + "'\n";
  }
  out += "Data received: '相见更无因'\ninput message:Data sent: '再见'\n";
  return out;
}

std::string poem_client_output(PoemEnding ending) {
  std::string out = poem_client_common();
  if (ending == PoemEnding::client_stdin_ends) out += "Data received: 'bye'\ninput message:";
  return out + "The server closed the connection\nStop the event loop\n";
}

std::string poem_server_output(PoemEnding ending) {
  std::string out = "Serving on ('127.0.0.1', PORT)\nConnection from ('127.0.0.1', PORT)\n";
  for (std::size_t i = 0; i + 1 < kPoem.size(); i += 2) {
    out += "Data received: '" + kPoem[i] + "'\nSend: '" + kPoem[i + 1] + "'\n";
  }
  out += "Data received: '再见'\ninput the message:";
  if (ending == PoemEnding::client_stdin_ends) out += "Send: 'bye'\n";
  return out;
}

// --- The pairs ------------------------------------------------------------------------------

struct Pair {
  Impl server;
  Impl client;
};

void PrintTo(const Pair& p, std::ostream* os) {
  *os << impl_name(p.server) << " server, " << impl_name(p.client) << " client";
}

// A test of programs of which some are C++, on one backend: its parameter
// and the backend, whose name ends the test's ("CppServer_PythonClient_io_uring").
template <class Param>
class OnBackend : public ::testing::TestWithParam<std::tuple<Param, Backend>> {
 protected:
  const Param& param() const { return std::get<0>(this->GetParam()); }
  Backend backend() const { return std::get<1>(this->GetParam()); }
  // Skips where the backend cannot run the C++ programs (lacking `feature`).
  void SetUp() override { skip_unless(Feature::stream_sockets); }
  void skip_unless(Feature feature) {
    std::string reason = backend_skip_reason(backend(), feature);
    if (!reason.empty()) GTEST_SKIP() << reason;
  }
};

template <class Param, std::string (*name)(const Param&)>
std::string name_on_backend(const ::testing::TestParamInfo<std::tuple<Param, Backend>>& info) {
  return name(std::get<0>(info.param)) + "_" +
         std::string(aiocpp::backend_name(std::get<1>(info.param)));
}

template <class Param>
auto on_every_backend(const Param& params) {
  return ::testing::Combine(::testing::ValuesIn(params),
                            ::testing::ValuesIn(aiocpp::testing::all_backends()));
}

std::string pair_name(const Pair& pair) {
  return std::string(impl_name(pair.server)) + "Server_" + impl_name(pair.client) + "Client";
}

// Every pairing with at least one C++ side.
const Pair kPairs[] = {
    {Impl::cpp, Impl::python},
    {Impl::python, Impl::cpp},
    {Impl::cpp, Impl::cpp},
};

class EchoSeed : public OnBackend<Pair> {};

TEST_P(EchoSeed, ExchangesHelloWorld) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(param().server, "echo_server");
  SKIP_UNLESS_AVAILABLE(param().client, "echo_client");
  RunningServer server = start_server(param().server, "echo_server", backend(), kServingOn);
  ASSERT_NE(server.port, 0);

  Finished client = run_client(param().client, "echo_client", backend(), server.port);
  EXPECT_TRUE(exited_cleanly(client.status)) << describe_status(client.status);
  EXPECT_EQ(client.output, kEchoClientOutput);

  EXPECT_TRUE(server.output->wait_for("Close the client socket\n"));
  EXPECT_EQ(normalize(server.stop()), echo_server_output(param().server));
}

// echo_client's streams twin (open_connection, reader.read) against the
// same servers: the same printed lines, so the same bytes on the wire.
TEST_P(EchoSeed, TheStreamsTwinOfTheClientExchangesHelloWorld) {
  if (param().client != Impl::cpp) GTEST_SKIP() << "the twin is a C++ client";
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(param().server, "echo_server");
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "echo_client_streams");
  RunningServer server = start_server(param().server, "echo_server", backend(), kServingOn);
  ASSERT_NE(server.port, 0);

  Finished client = run_client(Impl::cpp, "echo_client_streams", backend(), server.port);
  EXPECT_TRUE(exited_cleanly(client.status)) << describe_status(client.status);
  EXPECT_EQ(client.output, kEchoClientOutput);

  EXPECT_TRUE(server.output->wait_for("Close the client socket\n"));
  EXPECT_EQ(normalize(server.stop()), echo_server_output(param().server));
}

INSTANTIATE_TEST_SUITE_P(Pairs, EchoSeed, on_every_backend(kPairs),
                         (name_on_backend<Pair, pair_name>));

class EofEchoSeed : public OnBackend<Pair> {
 protected:
  // The pair's server against `client_program` run as `client`.
  void echo_until_eof(Impl client, const std::string& client_program) {
    FdLeakCheck fd_check;
    SKIP_UNLESS_AVAILABLE(param().server, "eof_echo_server");
    SKIP_UNLESS_AVAILABLE(client, client_program);
    RunningServer server = start_server(param().server, "eof_echo_server", backend(), kStartingUp);
    ASSERT_NE(server.port, 0);

    Finished finished = run_client(client, client_program, backend(), server.port);
    EXPECT_TRUE(exited_cleanly(finished.status)) << describe_status(finished.status);
    check_eof_client_output(finished.output, loop_line(client, backend()));

    EXPECT_TRUE(server.output->wait_for(": closing\n"));
    check_eof_server_output(server.stop(), param().server, loop_line(param().server, backend()));
  }
};

TEST_P(EofEchoSeed, EchoesUntilEof) { echo_until_eof(param().client, "eof_echo_client"); }

// eof_echo_client's streams twin (open_connection, write_eof, reader.read)
// against the same servers: the same log, so the same bytes and EOFs.
TEST_P(EofEchoSeed, TheStreamsTwinOfTheClientEchoesUntilEof) {
  if (param().client != Impl::cpp) GTEST_SKIP() << "the twin is a C++ client";
  echo_until_eof(Impl::cpp, "eof_echo_client_streams");
}

INSTANTIATE_TEST_SUITE_P(Pairs, EofEchoSeed, on_every_backend(kPairs),
                         (name_on_backend<Pair, pair_name>));

struct PoemCase {
  Impl server;
  Impl client;
  PoemEnding ending;
};

void PrintTo(const PoemCase& c, std::ostream* os) {
  *os << impl_name(c.server) << " server, " << impl_name(c.client) << " client, "
      << "stdin of the " << (c.ending == PoemEnding::server_stdin_ends ? "server" : "client")
      << " ends";
}

std::string poem_case_name(const PoemCase& c) {
  return std::string(impl_name(c.server)) + "Server_" + impl_name(c.client) + "Client_" +
         (c.ending == PoemEnding::server_stdin_ends ? "ServerStdinEnds" : "ClientStdinEnds");
}

// The Python programs die with a traceback (EOFError) where their stdin ends:
// that side is always a C++ one.
const PoemCase kPoemCases[] = {
    {Impl::cpp, Impl::python, PoemEnding::server_stdin_ends},
    {Impl::python, Impl::cpp, PoemEnding::client_stdin_ends},
    {Impl::cpp, Impl::cpp, PoemEnding::server_stdin_ends},
    {Impl::cpp, Impl::cpp, PoemEnding::client_stdin_ends},
};

// poem_server reads its stdin through a pipe transport.
class PoemSeed : public OnBackend<PoemCase> {
 protected:
  void SetUp() override {
    skip_unless(param().server == Impl::cpp ? Feature::pipes : Feature::stream_sockets);
  }

  // The case's server against `client_program` run as `client`.
  void recite(Impl client, const std::string& client_program) {
    FdLeakCheck fd_check;
    const PoemCase& c = param();
    SKIP_UNLESS_AVAILABLE(c.server, "poem_server");
    SKIP_UNLESS_AVAILABLE(client, client_program);
    bool server_answers = c.ending == PoemEnding::client_stdin_ends;
    RunningServer server =
        start_server(c.server, "poem_server", backend(), kServingOn, server_answers ? "bye\n" : "");
    ASSERT_NE(server.port, 0);

    Finished finished = run_client(client, client_program, backend(), server.port, "再见\n");
    EXPECT_TRUE(exited_cleanly(finished.status)) << describe_status(finished.status);
    EXPECT_EQ(finished.output, poem_client_output(c.ending));

    // The client is done, so the server has printed its last words: wait for them.
    EXPECT_TRUE(server.output->wait_for(server_answers ? "Send: 'bye'\n" : "input the message:"));
    EXPECT_EQ(normalize(server.stop()), poem_server_output(c.ending));
  }
};

TEST_P(PoemSeed, RecitesThePoem) { recite(param().client, "poem_client"); }

// poem_client's streams twin (open_connection, reader.read) in the same
// cases: the same lines printed, so the same bytes on the wire.
TEST_P(PoemSeed, TheStreamsTwinOfTheClientRecitesThePoem) {
  if (param().client != Impl::cpp) GTEST_SKIP() << "the twin is a C++ client";
  recite(Impl::cpp, "poem_client_streams");
}

INSTANTIATE_TEST_SUITE_P(Cases, PoemSeed, on_every_backend(kPoemCases),
                         (name_on_backend<PoemCase, poem_case_name>));

// --- The bytes on the wire, against plain sockets ----------------------------------------------

AIOCPP_BACKEND_SUITE(InteropWire);

TEST_P(InteropWire, EchoServerEchoesAndCloses) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "echo_server");
  RunningServer server = start_server(Impl::cpp, "echo_server", backend(), kServingOn);
  ASSERT_NE(server.port, 0);
  {
    Fd s = connect_to(server.port);
    send_all(s.fd, "Hello World!");
    bool eof = false;
    EXPECT_EQ(recv_to_eof(s.fd, &eof), "Hello World!");
    EXPECT_TRUE(eof) << "the server did not close the connection";
  }
  EXPECT_TRUE(server.output->wait_for("Close the client socket\n"));
  server.stop();
}

TEST_P(InteropWire, EchoClientSendsHelloWorld) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "echo_client");
  int port = 0;
  Fd listener = listen_on_loopback(port);
  auto child =
      aiocpp::testing::spawn(command(Impl::cpp, "echo_client", backend(),
                                     {"--host", "127.0.0.1", "--port", std::to_string(port)}),
                             true);
  feed_stdin(*child, "");
  Output output(*child);
  {
    Fd conn = accept_within(listener.fd, 10.0);
    ASSERT_GE(conn.fd, 0);
    EXPECT_EQ(recv_exactly(conn.fd, 12), "Hello World!");
    send_all(conn.fd, "Hello World!");
  }
  EXPECT_TRUE(output.read_to_eof());
  int status = child->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  EXPECT_EQ(output.text(), kEchoClientOutput);
}

TEST_P(InteropWire, EofEchoServerAnswersEofWithEof) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "eof_echo_server");
  RunningServer server = start_server(Impl::cpp, "eof_echo_server", backend(), kStartingUp);
  ASSERT_NE(server.port, 0);
  {
    Fd s = connect_to(server.port);
    for (const std::string& m : kMessages) send_all(s.fd, m);
    ASSERT_EQ(shutdown(s.fd, SHUT_WR), 0);
    bool eof = false;
    EXPECT_EQ(recv_to_eof(s.fd, &eof), kAllMessages);
    EXPECT_TRUE(eof) << "the server did not answer EOF with EOF";
  }
  EXPECT_TRUE(server.output->wait_for(": closing\n"));
  server.stop();
}

// The seed 002 client `name` (the protocol one or its streams twin) against
// a plain socket: the three messages, then its EOF; it closes after ours.
void check_eof_client_on_the_wire(const std::string& name, Backend backend) {
  int port = 0;
  Fd listener = listen_on_loopback(port);
  auto child = aiocpp::testing::spawn(
      command(Impl::cpp, name, backend, {"--host", "127.0.0.1", "--port", std::to_string(port)}),
      true);
  feed_stdin(*child, "");
  Output output(*child);
  {
    Fd conn = accept_within(listener.fd, 10.0);
    ASSERT_GE(conn.fd, 0);
    bool eof = false;
    EXPECT_EQ(recv_to_eof(conn.fd, &eof), kAllMessages);
    EXPECT_TRUE(eof) << "the client did not write_eof()";
    send_all(conn.fd, kAllMessages);
    ASSERT_EQ(shutdown(conn.fd, SHUT_WR), 0);
    // The client closes once our EOF arrives.
    EXPECT_EQ(recv_to_eof(conn.fd, &eof), "");
    EXPECT_TRUE(eof);
  }
  EXPECT_TRUE(output.read_to_eof());
  int status = child->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  check_eof_client_output(output.text(), loop_line(Impl::cpp, backend));
}

TEST_P(InteropWire, EofEchoClientSendsMessagesThenEof) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "eof_echo_client");
  check_eof_client_on_the_wire("eof_echo_client", backend());
}

TEST_P(InteropWire, EofEchoClientStreamsTwinSendsMessagesThenEof) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "eof_echo_client_streams");
  check_eof_client_on_the_wire("eof_echo_client_streams", backend());
}

TEST_P(InteropWire, PoemServerAnswersEachLine) {
  FdLeakCheck fd_check;
  AIOCPP_SKIP_UNLESS_BACKEND_HAS(Feature::pipes);  // poem_server's stdin
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "poem_server");
  RunningServer server = start_server(Impl::cpp, "poem_server", backend(), kServingOn);
  ASSERT_NE(server.port, 0);
  {
    Fd s = connect_to(server.port);
    for (std::size_t i = 0; i + 1 < kPoem.size(); i += 2) {
      send_all(s.fd, kPoem[i]);
      EXPECT_EQ(recv_exactly(s.fd, kPoem[i + 1].size()), kPoem[i + 1]);
    }
  }
  EXPECT_TRUE(server.output->wait_for("Send: '相见更无因'\n"));
  server.stop();
}

TEST_P(InteropWire, PoemClientStopsWhenTheServerCloses) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "poem_client");
  int port = 0;
  Fd listener = listen_on_loopback(port);
  auto child =
      aiocpp::testing::spawn(command(Impl::cpp, "poem_client", backend(),
                                     {"--host", "127.0.0.1", "--port", std::to_string(port)}),
                             true);
  feed_stdin(*child, "");
  Output output(*child);
  {
    Fd conn = accept_within(listener.fd, 10.0);
    ASSERT_GE(conn.fd, 0);
    EXPECT_EQ(recv_exactly(conn.fd, kPoem[0].size()), kPoem[0]);
    send_all(conn.fd, kPoem[1]);
    EXPECT_EQ(recv_exactly(conn.fd, kPoem[2].size()), kPoem[2]);
  }
  EXPECT_TRUE(output.read_to_eof());
  int status = child->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  EXPECT_EQ(output.text(),
            "我们一起来背诵 <<荷叶杯·记得那年花下>>\n"
            "message:  记得那年花下\n"
            "Data received: '深夜'\n"
            "Data sent: '初识谢娘时'\n"
            "The server closed the connection\n"
            "Stop the event loop\n");
}

TEST_P(InteropWire, ServeForeverReadsALine) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "serve_forever");
  RunningServer server = start_server(Impl::cpp, "serve_forever", backend(), kServingOn);
  ASSERT_NE(server.port, 0);
  for (int i = 0; i < 2; ++i) {  // it keeps serving
    Fd s = connect_to(server.port);
    send_all(s.fd, "hello\nworld\n");
    bool eof = false;
    EXPECT_EQ(recv_to_eof(s.fd, &eof), "");
    EXPECT_TRUE(eof) << "the server did not close the connection";
  }
  // Both lines are printed before the connections close.
  EXPECT_NE(server.output->wait_for(std::regex(R"((Line received[\s\S]*Line received: .*\n))")), "")
      << server.output->text();
  std::string all = normalize(server.stop());
  EXPECT_EQ(all,
            "Serving on ('127.0.0.1', PORT)\n"
            "Connection from ('127.0.0.1', PORT)\n"
            "Line received: b'hello\\n'\n"
            "Connection from ('127.0.0.1', PORT)\n"
            "Line received: b'hello\\n'\n");
}

// --- The programs without a peer ----------------------------------------------------------------

AIOCPP_BACKEND_SUITE(InteropExamples);

TEST_P(InteropExamples, HelloWorld) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "hello_world");
  auto child = aiocpp::testing::spawn(command(Impl::cpp, "hello_world", backend()), true);
  feed_stdin(*child, "");
  Output output(*child);
  EXPECT_TRUE(output.read_to_eof());
  int status = child->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  EXPECT_EQ(output.text(), "Hello World\n");
}

TEST_P(InteropExamples, RunInExecutor) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "run_in_executor");
  auto child = aiocpp::testing::spawn(command(Impl::cpp, "run_in_executor", backend()), true);
  feed_stdin(*child, "");
  Output output(*child);
  EXPECT_TRUE(output.read_to_eof());
  int status = child->wait();
  EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
  std::string text = output.text();
  // b'...' or b"..." (Python's repr picks the quote the bytes do not hold).
  EXPECT_EQ(text.rfind("default thread pool b", 0), 0u) << text;
  EXPECT_NE(text.find("\ncustom thread pool b"), std::string::npos) << text;
  // Python's sum(i * i for i in range(10 ** 7)), to the digit.
  EXPECT_NE(text.find("\ncustom pool, CPU-bound 333333283333335000000\n"), std::string::npos)
      << text;
}

TEST(InteropArguments, EveryExampleHasHelp) {
  FdLeakCheck fd_check;
  for (const char* name :
       {"echo_server", "echo_client", "echo_client_streams", "eof_echo_server", "eof_echo_client",
        "poem_server", "poem_client", "hello_world", "serve_forever", "run_in_executor"}) {
    SCOPED_TRACE(name);
    if (!available(Impl::cpp, name)) continue;
    auto child = aiocpp::testing::spawn({example_path(name), "--help"}, true);
    feed_stdin(*child, "");
    Output output(*child);
    EXPECT_TRUE(output.read_to_eof());
    int status = child->wait();
    EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
    EXPECT_NE(output.text().find("usage: "), std::string::npos) << output.text();
    EXPECT_NE(output.text().find("--host HOST"), std::string::npos) << output.text();
    EXPECT_NE(output.text().find("--backend {selector,io_uring,automatic}"), std::string::npos)
        << output.text();
    EXPECT_NE(output.text().find("seed 00"), std::string::npos) << output.text();
  }
}

TEST(InteropArguments, BadArgumentsExitWithStatus2) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "echo_client");
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--port", "http"}, std::vector<std::string>{"--bogus"},
        std::vector<std::string>{"--backend", "epoll"}, std::vector<std::string>{"--host"}}) {
    args.insert(args.begin(), example_path("echo_client"));
    auto child = aiocpp::testing::spawn(args, true);
    feed_stdin(*child, "");
    Output output(*child);
    EXPECT_TRUE(output.read_to_eof());
    int status = child->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << describe_status(status) << "\n"
                                                               << output.text();
  }
}

TEST_P(InteropExamples, ClientReportsRefusedConnection) {
  FdLeakCheck fd_check;
  SKIP_UNLESS_AVAILABLE(Impl::cpp, "echo_client");
  int port = 0;
  { Fd closed = listen_on_loopback(port); }  // a port nobody listens on now
  Finished client = run_client(Impl::cpp, "echo_client", backend(), port);
  EXPECT_TRUE(WIFEXITED(client.status) && WEXITSTATUS(client.status) == 1)
      << describe_status(client.status) << "\n"
      << client.output;
  EXPECT_NE(client.output.find("Error: "), std::string::npos) << client.output;
}

}  // namespace
