// Seed 000's remote command server, done safely (examples/remote_cmd_server):
// the policy on its own, then the program end to end over loopback. Each
// refusal must be clear and leave the server serving.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "child_output.hpp"
#include "remote_cmd_policy.hpp"
#include "test_support.hpp"

namespace {

using aiocpp::testing::ChildProcess;
using aiocpp::testing::describe_status;
using aiocpp::testing::exited_cleanly;
using aiocpp::testing::FdLeakCheck;
using aiocpp::testing::feed_stdin;
using aiocpp::testing::Output;

// --- The policy ----------------------------------------------------------------------------

// A rule as --allow 'SPEC' makes it (the program path given directly).
remote_cmd::Rule rule(const std::string& path, const std::string& args) {
  remote_cmd::Rule r;
  r.path = path;
  r.name = path.substr(path.rfind('/') + 1);
  EXPECT_EQ(remote_cmd::parse_rule_args(remote_cmd::split_words(args), r), "");
  return r;
}

remote_cmd::Policy policy() {
  remote_cmd::Policy p;
  p.allowed = {rule("/bin/echo", "..."), rule("/usr/bin/date", ""), rule("/usr/bin/date", "+%s"),
               rule("/usr/bin/sleep", "{}"), rule("/usr/bin/id", "-u {}")};
  p.token = "s3cret";
  return p;
}

TEST(RemoteCmdPolicy, AnAllowedCommandRunsByItsPathWithTheWordsAsArguments) {
  auto v = remote_cmd::check_command(policy(), "echo  hello   world");
  ASSERT_TRUE(v.allowed) << v.refusal;
  EXPECT_EQ(v.argv, (std::vector<std::string>{"/bin/echo", "hello", "world"}));
}

TEST(RemoteCmdPolicy, AllowDateAllowsDateAloneAndDateSIsRefused) {
  EXPECT_TRUE(remote_cmd::check_command(policy(), "date").allowed);
  EXPECT_TRUE(remote_cmd::check_command(policy(), "date +%s").allowed) << "a whole line allowed";
  auto v = remote_cmd::check_command(policy(), "date -s 2000-01-01");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.refusal, "these arguments to 'date' are not allowed (allowed: 'date', 'date +%s')");
  EXPECT_FALSE(remote_cmd::check_command(policy(), "date +%Y").allowed);
  EXPECT_FALSE(remote_cmd::check_command(policy(), "date +%s +%s").allowed);
}

TEST(RemoteCmdPolicy, PlaceholdersNeverMatchAnOption) {
  EXPECT_TRUE(remote_cmd::check_command(policy(), "sleep 1").allowed);
  EXPECT_FALSE(remote_cmd::check_command(policy(), "sleep").allowed) << "{} is exactly one";
  EXPECT_FALSE(remote_cmd::check_command(policy(), "sleep 1 2").allowed);
  EXPECT_FALSE(remote_cmd::check_command(policy(), "sleep --help").allowed);
  EXPECT_TRUE(remote_cmd::check_command(policy(), "echo").allowed) << "... may be nothing";
  EXPECT_FALSE(remote_cmd::check_command(policy(), "echo -e x").allowed);
  EXPECT_FALSE(remote_cmd::check_command(policy(), "echo x --").allowed);
  // An option written in the rule is allowed, literally.
  auto v = remote_cmd::check_command(policy(), "id -u nobody");
  ASSERT_TRUE(v.allowed) << v.refusal;
  EXPECT_EQ(v.argv, (std::vector<std::string>{"/usr/bin/id", "-u", "nobody"}));
  EXPECT_FALSE(remote_cmd::check_command(policy(), "id -g nobody").allowed);
  EXPECT_FALSE(remote_cmd::check_command(policy(), "id -u -n").allowed);
}

TEST(RemoteCmdPolicy, BadRulesAreRejected) {
  remote_cmd::Rule r;
  EXPECT_NE(remote_cmd::parse_rule_args({"...", "x"}, r), "") << "... must come last";
  remote_cmd::Rule r2;
  EXPECT_NE(remote_cmd::parse_rule_args({"$HOME"}, r2), "") << "could never match";
}

TEST(RemoteCmdPolicy, CommandsOutsideTheAllowListAreRefusedByName) {
  auto v = remote_cmd::check_command(policy(), "rm -rf /tmp/x");
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.refusal, "'rm' is not an allowed command");
  EXPECT_FALSE(remote_cmd::check_command(policy(), "/bin/echo hi").allowed)
      << "a path is not a way around the list";
  EXPECT_FALSE(remote_cmd::check_command(policy(), "   ").allowed);
}

TEST(RemoteCmdPolicy, ShellMetacharactersAreRefusedEvenAfterAnAllowedCommand) {
  for (const char* line :
       {"echo hi; rm -rf /", "echo $(id)", "echo `id`", "echo a | cat", "echo a > /tmp/x",
        "echo a && id", "echo *", "echo 'quoted'", "echo a\tb", "echo ~root", "echo a#b"}) {
    auto v = remote_cmd::check_command(policy(), line);
    EXPECT_FALSE(v.allowed) << line;
    EXPECT_NE(v.refusal.find("shell metacharacter"), std::string::npos) << line;
  }
}

TEST(RemoteCmdPolicy, TheTokenMustMatchExactly) {
  EXPECT_TRUE(remote_cmd::token_matches("s3cret", "s3cret"));
  EXPECT_FALSE(remote_cmd::token_matches("s3cret", "s3cre"));
  EXPECT_FALSE(remote_cmd::token_matches("s3cret", "s3cret "));
  EXPECT_FALSE(remote_cmd::token_matches("s3cret", "S3cret"));
  EXPECT_FALSE(remote_cmd::token_matches("s3cret", ""));
  EXPECT_FALSE(remote_cmd::token_matches("", "")) << "no token configured matches nothing";
}

// --- The program ---------------------------------------------------------------------------

std::string example_path(const std::string& name) {
  return std::string(AIOCPP_EXAMPLES_DIR) + "/" + name;
}

// A line-oriented client over a blocking socket with timeouts.
class Client {
 public:
  explicit Client(int port) : fd_(aiocpp::testing::connect_loopback(port)) {}
  ~Client() { close(fd_); }

  void send(const std::string& text) {
    EXPECT_EQ(aiocpp::testing::send_retrying(fd_, text.data(), text.size()),
              static_cast<ssize_t>(text.size()));
  }
  // Everything up to and including the next status line ("%% ..."); what
  // arrived before the end of the stream if it ends first.
  std::string answer() {
    for (;;) {
      std::size_t at = status_at();
      if (at != std::string::npos) {
        std::size_t end = received_.find('\n', at) + 1;
        std::string out = received_.substr(0, end);
        received_.erase(0, end);
        return out;
      }
      if (!read_some()) {
        std::string out = std::move(received_);
        received_.clear();
        return out;
      }
    }
  }
  // Whether the server closed the connection (reads to the end).
  bool closed_by_server() {
    while (read_some()) {
    }
    return eof_;
  }

 private:
  std::size_t status_at() const {
    for (std::size_t at = 0; at < received_.size();) {
      if (received_.compare(at, 3, "%% ") == 0) {
        if (received_.find('\n', at) != std::string::npos) return at;
        return std::string::npos;
      }
      std::size_t nl = received_.find('\n', at);
      if (nl == std::string::npos) return std::string::npos;
      at = nl + 1;
    }
    return std::string::npos;
  }
  bool read_some() {
    char buf[4096];
    ssize_t n = aiocpp::testing::recv_retrying(fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = n == 0;
      return false;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string received_;
  bool eof_ = false;
};

class RemoteCmdServer : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(example_path("remote_cmd_server").c_str(), X_OK) != 0) {
      GTEST_SKIP() << "remote_cmd_server is not built";
    }
    std::ofstream(token_file_) << "s3cret\n";
    start({"--time-limit", "0.5", "--max-output", "1000"});
  }
  // Starts the server (tests run as root: commands run as nobody, in /tmp).
  void start(const std::vector<std::string>& limits) {
    std::vector<std::string> argv = {example_path("remote_cmd_server"),
                                     "--port",
                                     "0",
                                     "--token-file",
                                     token_file_,
                                     "--allow",
                                     "echo ...",
                                     "--allow",
                                     "sleep {}",
                                     "--allow",
                                     "yes",
                                     "--allow",
                                     "/bin/cat",
                                     "--allow",
                                     "id -u",
                                     "--allow",
                                     "pwd",
                                     "--allow",
                                     "date",
                                     "--max-line",
                                     "64"};
    if (geteuid() == 0) argv.insert(argv.end(), {"--run-as", "nobody", "--workdir", "/tmp"});
    argv.insert(argv.end(), limits.begin(), limits.end());
    process_ = aiocpp::testing::spawn(argv, true);
    feed_stdin(*process_, "");
    output_ = std::make_unique<Output>(*process_);
    std::string port = output_->wait_for(std::regex(R"(Serving on \('127\.0\.0\.1', (\d+)\))"), 10);
    ASSERT_FALSE(port.empty()) << output_->text();
    port_ = std::stoi(port);
  }
  void stop() {
    if (!process_) return;
    kill(process_->pid, SIGTERM);
    output_->read_to_eof(10);
    int status = process_->wait(10);
    EXPECT_TRUE(exited_cleanly(status)) << describe_status(status) << "\n" << output_->text();
    process_.reset();
  }
  void restart(const std::vector<std::string>& limits) {
    stop();
    start(limits);
  }
  void TearDown() override {
    stop();
    std::remove(token_file_.c_str());
  }
  // A client past the token.
  std::unique_ptr<Client> login() {
    auto c = std::make_unique<Client>(port_);
    c->send("s3cret\n");
    EXPECT_EQ(c->answer(), "%% welcome\n");
    return c;
  }
  // The server still serves: a new client can run a command.
  void expect_still_serving() {
    auto c = login();
    c->send("echo still here\n");
    EXPECT_EQ(c->answer(), "still here\n%% exit 0\n");
  }

  FdLeakCheck fds_;
  std::string token_file_ = "/tmp/aiocpp_remote_cmd_token_" + std::to_string(getpid());
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<Output> output_;
  int port_ = 0;
};

TEST_F(RemoteCmdServer, RunsAnAllowedCommandAndPrintsWhatTheSeedPrints) {
  auto c = login();
  c->send("echo hello world\n");
  EXPECT_EQ(c->answer(), "hello world\n%% exit 0\n");
  c->send("cat\n");  // stdin is /dev/null: no hang
  EXPECT_EQ(c->answer(), "%% exit 0\n");
  c->send("exit\n");
  EXPECT_TRUE(c->closed_by_server()) << "exit closes the connection, as in the seed";
  EXPECT_TRUE(output_->wait_for("Exit receive, close the socket"));
  EXPECT_TRUE(output_->wait_for("Close the client socket"));
  EXPECT_NE(output_->text().find("Command received: b'echo hello world\\n'"), std::string::npos);
  EXPECT_NE(output_->text().find("Connection from ('127.0.0.1', "), std::string::npos);
}

TEST_F(RemoteCmdServer, AWrongTokenIsRefusedAndTheConnectionClosed) {
  Client c(port_);
  c.send("guess\n");
  EXPECT_EQ(c.answer(), "%% refused: wrong token\n");
  EXPECT_TRUE(c.closed_by_server());
  expect_still_serving();
}

TEST_F(RemoteCmdServer, ACommandOutsideTheAllowListIsRefusedAndTheConnectionStays) {
  auto c = login();
  c->send("rm -rf /\n");
  EXPECT_EQ(c->answer(), "%% refused: 'rm' is not an allowed command\n");
  c->send("echo next\n");
  EXPECT_EQ(c->answer(), "next\n%% exit 0\n");
}

TEST_F(RemoteCmdServer, ShellMetacharactersAreRefused) {
  auto c = login();
  c->send("echo hi; touch /tmp/aiocpp_pwned\n");
  EXPECT_EQ(c->answer().rfind("%% refused: shell metacharacter ';'", 0), 0u);
  EXPECT_NE(access("/tmp/aiocpp_pwned", F_OK), 0);
  expect_still_serving();
}

TEST_F(RemoteCmdServer, AnOverLongLineIsRefusedAndTheServerKeepsServing) {
  auto c = login();
  c->send(std::string(100, 'a'));  // no newline: the limit holds before one comes
  EXPECT_EQ(c->answer(), "%% refused: line longer than 64 bytes\n");
  EXPECT_TRUE(c->closed_by_server());
  expect_still_serving();
}

TEST_F(RemoteCmdServer, ACommandThatRunsTooLongIsKilled) {
  auto c = login();
  c->send("sleep 30\n");
  EXPECT_EQ(c->answer(), "%% killed: time limit of 0.5 s\n");
  c->send("echo after\n");
  EXPECT_EQ(c->answer(), "after\n%% exit 0\n");
}

TEST_F(RemoteCmdServer, OutputBeyondTheLimitIsCutAndTheCommandKilled) {
  auto c = login();
  c->send("yes\n");
  std::string answer = c->answer();
  // "y\n" * 500: exactly the limit, ending a line, then the status line.
  ASSERT_GE(answer.size(), 1000u) << answer;
  EXPECT_EQ(answer.substr(0, 6), "y\ny\ny\n");
  EXPECT_EQ(answer.substr(1000), "%% killed: output limit of 1000 bytes\n");
}

TEST_F(RemoteCmdServer, TheClientSendsTheTokenThenEachLineOfStdin) {
  std::string client = example_path("remote_cmd_client");
  if (access(client.c_str(), X_OK) != 0) GTEST_SKIP() << "remote_cmd_client is not built";
  for (bool right_token : {true, false}) {
    std::string token_file = token_file_ + (right_token ? "" : ".wrong");
    if (!right_token) std::ofstream(token_file) << "not it\n";
    auto child = aiocpp::testing::spawn(
        {client, "--port", std::to_string(port_), "--token-file", token_file}, true);
    feed_stdin(*child, "echo one two\nrm x\nexit\n");
    Output output(*child);
    EXPECT_TRUE(output.read_to_eof());
    int status = child->wait();
    if (right_token) {
      EXPECT_TRUE(exited_cleanly(status)) << describe_status(status);
      EXPECT_NE(output.text().find("one two\n%% exit 0\n%% refused: 'rm' is not an allowed"),
                std::string::npos)
          << output.text();
    } else {
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << describe_status(status);
      EXPECT_NE(output.text().find("%% refused: wrong token"), std::string::npos) << output.text();
      std::remove(token_file.c_str());
    }
  }
}

TEST_F(RemoteCmdServer, ArgumentsAreUnderPolicyDateSIsRefused) {
  auto c = login();
  c->send("date -s 2000-01-01\n");
  EXPECT_EQ(c->answer(),
            "%% refused: these arguments to 'date' are not allowed (allowed: 'date')\n");
  c->send("echo -e x\n");
  EXPECT_EQ(c->answer(),
            "%% refused: these arguments to 'echo' are not allowed (allowed: 'echo ...')\n");
  c->send("sleep 1 2\n");
  EXPECT_EQ(c->answer().rfind("%% refused: these arguments to 'sleep'", 0), 0u);
  c->send("date\n");
  std::string answer = c->answer();
  EXPECT_NE(answer.find("%% exit 0\n"), std::string::npos) << answer;
}

TEST_F(RemoteCmdServer, CommandsRunAsTheRunAsUserInTheWorkdir) {
  if (geteuid() != 0) GTEST_SKIP() << "--run-as needs root";
  auto c = login();
  c->send("id -u\n");
  EXPECT_EQ(c->answer(), "65534\n%% exit 0\n") << "nobody's uid";
  c->send("pwd\n");
  EXPECT_EQ(c->answer(), "/tmp\n%% exit 0\n");
}

// The processes whose parent is `parent` and whose command name is `comm`.
std::vector<int> children_named(int parent, const std::string& comm) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    std::size_t open = line.find('('), close = line.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    int ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && line.substr(open + 1, close - open - 1) == comm && state != "Z") {
      out.push_back(std::stoi(name));
    }
  }
  return out;
}

// Waits (bounded) until `done()`; the time it took, or -1 on timeout.
template <class F>
double seconds_until(F done, double timeout) {
  double start = aiocpp::testing::now();
  while (!done()) {
    if (aiocpp::testing::now() - start > timeout) return -1;
    usleep(5000);  // polling /proc: there is no event to wait on
  }
  return aiocpp::testing::now() - start;
}

TEST_F(RemoteCmdServer, AClientThatLeavesHasItsCommandKilledAtOnce) {
  restart({"--time-limit", "60"});
  auto c = login();
  c->send("sleep 30\n");
  int pid = process_->pid;
  ASSERT_GE(seconds_until([pid] { return !children_named(pid, "sleep").empty(); }, 10), 0)
      << "the command did not start";
  c.reset();  // the client leaves
  double gone = seconds_until([pid] { return children_named(pid, "sleep").empty(); }, 10);
  std::printf("the command was gone %.3f s after its client left\n", gone);
  EXPECT_GE(gone, 0) << "still running";
  EXPECT_LT(gone, 2.0);
  expect_still_serving();
}

long rss_kib(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

// Thousands of commands whose output (64 KiB each) the client never reads:
// the server stops reading commands while the client's output is above the
// high-water mark, so its memory stays flat.
TEST_F(RemoteCmdServer, AClientThatNeverReadsKeepsTheServersMemoryFlat) {
  restart({"--time-limit", "5", "--max-output", "65536"});
  auto c = login();
  long before = rss_kib(process_->pid);
  std::string commands;
  for (int i = 0; i < 3000; ++i) commands += "yes\n";
  c->send(commands);
  // Until every command ran, or none has for 1.5 s (the server is waiting for the client).
  const std::string received = "Command received: b'yes\\n'";
  std::size_t count = 0;
  double last_progress = aiocpp::testing::now();
  double deadline = last_progress + 90;
  while (count < 3000 && aiocpp::testing::now() < deadline &&
         aiocpp::testing::now() - last_progress < 1.5) {
    output_->read_for(0.1);
    std::size_t now_count = output_->occurrences(received);
    if (now_count != count) last_progress = aiocpp::testing::now();
    count = now_count;
  }
  long after = rss_kib(process_->pid);
  std::printf("%zu of 3000 commands ran; server VmRSS %ld KiB before, %ld KiB after (%+ld KiB)\n",
              count, before, after, after - before);
  EXPECT_LT(count, 3000u) << "the server read every command though the client read nothing";
  EXPECT_LT(after - before, 16 * 1024) << "KiB";
}

TEST(RemoteCmdServerArguments, AsRootWithoutRunAsItRefusesToStart) {
  FdLeakCheck fds;
  if (access(example_path("remote_cmd_server").c_str(), X_OK) != 0) GTEST_SKIP();
  if (geteuid() != 0) GTEST_SKIP() << "not root";
  setenv("REMOTE_CMD_TOKEN", "s3cret", 1);
  for (std::vector<std::string> args :
       {std::vector<std::string>{},
        std::vector<std::string>{"--run-as", "root", "--workdir", "/tmp"},
        std::vector<std::string>{"--run-as", "nobody"}}) {
    std::vector<std::string> argv = {example_path("remote_cmd_server"), "--port", "0", "--allow",
                                     "date"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = aiocpp::testing::spawn(argv, true);
    feed_stdin(*child, "");
    Output output(*child);
    EXPECT_TRUE(output.read_to_eof());
    int status = child->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << describe_status(status);
    EXPECT_EQ(output.text().find("Serving on"), std::string::npos) << output.text();
    if (args.empty()) {
      EXPECT_NE(output.text().find("error: refusing to run commands as root: give --run-as USER"),
                std::string::npos)
          << output.text();
    }
  }
  unsetenv("REMOTE_CMD_TOKEN");
}

TEST(RemoteCmdServerArguments, NoTokenOrNoAllowListIsAUsageError) {
  FdLeakCheck fds;
  if (access(example_path("remote_cmd_server").c_str(), X_OK) != 0) GTEST_SKIP();
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--allow", "echo"}, std::vector<std::string>{},
        std::vector<std::string>{"--allow", "no-such-command-here"}}) {
    std::vector<std::string> argv = {example_path("remote_cmd_server"), "--port", "0"};
    argv.insert(argv.end(), args.begin(), args.end());
    unsetenv("REMOTE_CMD_TOKEN");
    auto child = aiocpp::testing::spawn(argv, true);
    feed_stdin(*child, "");
    Output output(*child);
    EXPECT_TRUE(output.read_to_eof());
    int status = child->wait();
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << describe_status(status);
    EXPECT_NE(output.text().find("error: "), std::string::npos) << output.text();
  }
}

}  // namespace
