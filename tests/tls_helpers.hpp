#pragma once
// What the TLS suites share: certificates made at run time with the openssl
// CLI in a temporary directory (no key material in the repository), and an
// echo protocol pair.

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "aiocpp/ssl.hpp"
#include "child_output.hpp"
#include "test_support.hpp"

namespace aiocpp::testing {

// A CA, a server certificate for localhost / 127.0.0.1 and a client
// certificate signed by it, a server certificate of it that expired in 2020,
// and a self-signed certificate nobody trusts.
struct Certificates {
  std::string dir, ca, server_cert, server_key, client_cert, client_key, self_signed_cert,
      self_signed_key, expired_cert, expired_key;

  static const Certificates& get() {
    static const Certificates certs = make();
    return certs;
  }

 private:
  static void sh(const std::string& command) {
    if (std::system(("cd " + get_dir() + " && " + command + " >/dev/null 2>&1").c_str()) != 0) {
      throw std::runtime_error("failed: " + command);
    }
  }
  // /tmp/aiocpp-tls-<pid>-XXXXXX, removed at exit. A process killed before
  // its atexit ran (a test's timeout, a fuzzer stopped by a signal) leaves
  // its directory behind: the next run removes those of dead processes.
  static const std::string& get_dir() {
    static const std::string dir = [] {
      remove_dirs_of_dead_processes();
      std::string templ = "/tmp/aiocpp-tls-" + std::to_string(::getpid()) + "-XXXXXX";
      if (!::mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
      return templ;
    }();
    return dir;
  }
  static void remove_dirs_of_dead_processes() {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
      const std::string name = entry.path().filename().string();
      const std::string prefix = "aiocpp-tls-";
      if (!name.starts_with(prefix)) continue;
      const long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
      if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
  }
  static Certificates make() {
    Certificates c;
    c.dir = get_dir();
    const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    sh("openssl req -x509 " + key + " -keyout ca.key -out ca.pem -days 2 -subj /CN=aiocpp-test-ca");
    // In a subshell: sh() sends the command's stdout to /dev/null.
    sh("(printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext)");
    sh("openssl req " + key + " -keyout server.key -out server.csr -subj /CN=localhost");
    sh("openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 "
       "-extfile server.ext -out server.pem");
    sh("openssl req " + key + " -keyout client.key -out client.csr -subj /CN=aiocpp-client");
    sh("openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 -days 2 "
       "-out client.pem");
    sh("openssl req -x509 " + key +
       " -keyout self.key -out self.pem -days 2 -subj /CN=localhost "
       "-addext subjectAltName=DNS:localhost,IP:127.0.0.1");
    // `openssl x509 -days` refuses a past date; `openssl ca` takes explicit
    // dates, with a minimal CA configuration and database.
    sh("(printf '[ca]\\ndefault_ca=d\\n[d]\\ndatabase=index.txt\\nnew_certs_dir=.\\n"
       "serial=serial\\ncertificate=ca.pem\\nprivate_key=ca.key\\ndefault_md=sha256\\n"
       "policy=p\\n[p]\\ncommonName=supplied\\n' > ca.cnf) && : > index.txt && (echo 10 > serial)");
    sh("openssl req " + key + " -keyout expired.key -out expired.csr -subj /CN=localhost");
    sh("openssl ca -batch -config ca.cnf -in expired.csr -startdate 20200101000000Z "
       "-enddate 20200102000000Z -extfile server.ext -notext -out expired.pem");
    c.ca = c.dir + "/ca.pem";
    c.server_cert = c.dir + "/server.pem";
    c.server_key = c.dir + "/server.key";
    c.client_cert = c.dir + "/client.pem";
    c.client_key = c.dir + "/client.key";
    c.self_signed_cert = c.dir + "/self.pem";
    c.self_signed_key = c.dir + "/self.key";
    c.expired_cert = c.dir + "/expired.pem";
    c.expired_key = c.dir + "/expired.key";
    std::atexit([] { std::filesystem::remove_all(get_dir()); });
    return c;
  }
};

inline std::shared_ptr<SSLContext> server_context() {
  const Certificates& certs = Certificates::get();
  auto context = SSLContext::create_default_context(Purpose::CLIENT_AUTH);
  context->load_cert_chain(certs.server_cert, certs.server_key);
  return context;
}

inline std::shared_ptr<SSLContext> client_context() {
  return SSLContext::create_default_context(Purpose::SERVER_AUTH, Certificates::get().ca);
}

// Echoes everything.
struct TLSEcho : Protocol {
  Transport* transport = nullptr;
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override { transport->write(data); }
};

// Collects what arrives; `done` completes with it once `expected` bytes
// came, or with the error connection_lost received.
struct TLSCollector : Protocol {
  std::size_t expected;
  Future<std::string> done;
  Future<void> lost;
  std::string got;
  Transport* transport = nullptr;
  TLSCollector(std::size_t n, Future<std::string> f, Future<void> l)
      : expected(n), done(std::move(f)), lost(std::move(l)) {}
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override {
    got += data;
    if (got.size() >= expected && !done.done()) done.set_result(got);
  }
  void connection_lost(std::exception_ptr error) override {
    if (!done.done()) {
      if (error) {
        done.set_exception(error);
      } else {
        done.set_result(got);
      }
    }
    if (!lost.done()) {
      if (error) {
        lost.set_exception(error);
      } else {
        lost.set_result();
      }
    }
  }
};

// The server of a plaintext conversation that moves to TLS (tls_echo,
// tls_interop): a line "STARTTLS" is answered "OK", then both sides
// upgrade the same connection with start_tls and it echoes over TLS.
struct StartTLSServer : Protocol {
  EventLoop* loop;
  Transport* transport = nullptr;
  std::shared_ptr<StartTLSServer>* self;
  StartTLSServer(EventLoop* l, std::shared_ptr<StartTLSServer>* s) : loop(l), self(s) {}
  std::shared_ptr<Transport> tls;
  std::string tls_data;
  bool upgraded = false;
  void connection_made(Transport& t) override { transport = &t; }
  void data_received(std::string_view data) override {
    if (upgraded) {  // now over TLS; start_tls may not have returned yet
      if (tls) {
        tls->write(data);
      } else {
        tls_data += data;
      }
      return;
    }
    EXPECT_EQ(data, "STARTTLS\n");
    transport->write("OK\n");
    upgraded = true;
    auto plain = std::dynamic_pointer_cast<Transport>(transport->shared_from_this());
    (void)loop->create_task(upgrade(loop, plain, *self, this));
  }
  static Task<void> upgrade(EventLoop* loop, std::shared_ptr<Transport> plain,
                            std::shared_ptr<StartTLSServer> protocol, StartTLSServer* raw) {
    StartTLSOptions options;
    options.server_side = true;
    raw->tls = co_await loop->start_tls(plain, protocol, server_context(), options);
    if (!raw->tls_data.empty()) raw->tls->write(raw->tls_data);
  }
};

// The client of StartTLSServer's conversation, on `port`: "STARTTLS", "OK",
// start_tls, then `secret` and its echo over TLS, and a close. Returns the
// echo.
inline Task<std::string> start_tls_client(EventLoop& loop, int port, std::string secret) {
  Future<std::string> ok = loop.create_future<std::string>();
  Future<void> lost = loop.create_future<void>();
  auto factory = [&] { return std::make_shared<TLSCollector>(3, ok, lost); };
  auto [plain, collector] = co_await loop.create_connection(factory, "127.0.0.1", port);
  plain->write("STARTTLS\n");
  std::string answer = co_await ok;
  EXPECT_EQ(answer, "OK\n");
  collector->got.clear();
  collector->expected = secret.size();
  collector->done = loop.create_future<std::string>();
  StartTLSOptions options;
  options.server_hostname = "localhost";
  std::shared_ptr<Transport> tls =
      co_await loop.start_tls(plain, collector, client_context(), options);
  tls->write(secret);
  std::string echoed = co_await collector->done;
  tls->close();  // nothing more to do if the server closed first
  co_await lost;
  co_return echoed;
}

// Runs `argv` (a peer's client) to its end while the loop serves it, with
// `input` on its stdin when given; returns what it printed. Its output is
// read in the executor, since the reading blocks. The exit status must be 0.
inline Task<std::string> client_output(EventLoop& loop, std::vector<std::string> argv,
                                       std::optional<std::string> input = std::nullopt) {
  std::shared_ptr<ChildProcess> child = spawn(argv, input.has_value());
  if (input) feed_stdin(*child, *input);
  auto read = [child] { return child->read_all(10.0); };
  std::string printed = co_await loop.run_in_executor(nullptr, read);
  EXPECT_EQ(child->wait(), 0) << printed;
  co_return printed;
}

}  // namespace aiocpp::testing
