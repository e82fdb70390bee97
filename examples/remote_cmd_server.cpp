// The remote command server of seed 000 ("Protocol factories in the event
// loop", CmdServerProtocol), done safely. The seed runs whatever a client
// sends through os.popen(), i.e. through a shell, for anyone who can connect.
// This one:
//   - listens on 127.0.0.1 unless told otherwise;
//   - wants a shared token as the first line (from $REMOTE_CMD_TOKEN or
//     --token-file, never from the command line where `ps` would show it);
//   - runs only the command lines allowed with --allow (a command and the
//     arguments it may take, see remote_cmd_policy.hpp), by absolute path,
//     through subprocess_exec: the client's words are arguments, no shell
//     sees them, and a line with a shell metacharacter is refused;
//   - refuses to start as root unless --run-as names the unprivileged user
//     that commands run as (with --workdir, the directory they run in);
//   - bounds each command's run time, its output, and the length of a line;
//   - honours flow control: while a client's unsent output is above the
//     transport's high-water mark, it stops reading that client's commands
//     and the command's output, so a client that never reads cannot make the
//     server buffer without bound;
//   - kills a client's running command as soon as the client goes away (its
//     end of stream).
// As in the seed, "exit" closes the connection, and it prints what the seed
// prints: "Connection from ...", "Command received: ...", and so on.
//
// Wire protocol, one line per request: the token first, then commands. Each
// command's answer is its output (stdout and stderr) followed by one status
// line starting with "%% " at the start of a line:
//   %% exit 0                                  the command finished
//   %% killed: time limit of 5 s               ... or was stopped
//   %% killed: output limit of 65536 bytes
//   %% refused: 'rm' is not an allowed command  nothing ran
//   %% welcome                                 the token was right
// A wrong token or an over-long line is refused, and the connection closed.

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"
#include "remote_cmd_policy.hpp"

namespace {

using remote_cmd::Policy;

// Who runs the commands, and where.
struct RunAs {
  uid_t uid = 0;
  gid_t gid = 0;
};

// How commands are started: who runs them and where.
struct Launch {
  std::optional<RunAs> run_as;  // unset: commands run as the server's own user
  std::string workdir = "/";
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 8888;
  std::optional<aiocpp::Backend> backend{};  // unset: $AIOCPP_BACKEND, else selector
  Policy policy;
  Launch launch;
};

[[noreturn]] void usage_error(const char* prog, const std::string& message) {
  std::fprintf(stderr,
               "usage: %s --allow 'COMMAND [ARGS]' [--allow ...] [--token-file FILE]\n"
               "          [--run-as USER --workdir DIR] [--host HOST] [--port PORT]\n"
               "          [--time-limit SECONDS] [--max-output BYTES] [--max-line BYTES]\n"
               "%s: error: %s\n",
               prog, prog, message.c_str());
  std::exit(2);
}

// A program: a name looked up in /usr/bin and /bin, or an absolute path.
std::pair<std::string, std::string> resolve_program(const char* prog, const std::string& spec) {
  std::vector<std::string> candidates;
  if (spec.find('/') != std::string::npos) {
    if (spec.front() != '/') usage_error(prog, "--allow: a path must be absolute: " + spec);
    candidates.push_back(spec);
  } else {
    candidates = {"/usr/bin/" + spec, "/bin/" + spec};
  }
  for (auto& path : candidates) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(path.c_str(), X_OK) == 0) {
      return {path.substr(path.rfind('/') + 1), path};
    }
  }
  usage_error(prog, "--allow: no executable " + spec);
}

// An --allow entry: the command, then its arguments (see remote_cmd_policy.hpp).
remote_cmd::Rule parse_rule(const char* prog, const std::string& spec) {
  std::vector<std::string> words = remote_cmd::split_words(spec);
  if (words.empty()) usage_error(prog, "--allow: empty command");
  remote_cmd::Rule rule;
  std::tie(rule.name, rule.path) = resolve_program(prog, words[0]);
  words.erase(words.begin());
  std::string problem = remote_cmd::parse_rule_args(words, rule);
  if (!problem.empty()) usage_error(prog, "--allow '" + spec + "': " + problem);
  return rule;
}

// --run-as USER: an existing user other than root, whose uid and primary group
// the commands get (and no supplementary group).
RunAs parse_run_as(const char* prog, const std::string& user) {
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) usage_error(prog, "--run-as: no user named '" + user + "'");
  if (pw->pw_uid == 0)
    usage_error(prog, "--run-as: '" + user + "' is root; name an unprivileged user");
  if (::geteuid() != 0 && pw->pw_uid != ::geteuid()) {
    usage_error(prog, "--run-as: only root can run commands as another user");
  }
  return RunAs{pw->pw_uid, pw->pw_gid};
}

Options parse(int argc, char** argv) {
  const char* prog = argv[0];
  Options o;
  std::string token_file;
  std::string run_as;
  std::string workdir;
  auto number = [&](const std::string& name, const char* text) {
    char* end = nullptr;
    double value = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || !(value > 0)) {
      usage_error(prog, "argument " + name + ": a positive number is expected, got '" + text + "'");
    }
    return value;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::printf(
          "usage: %s --allow COMMAND [--allow COMMAND ...] [options]\n\n"
          "Seed 000's remote command server, done safely: runs allow-listed commands\n"
          "(no shell) for clients that know the token ($REMOTE_CMD_TOKEN or --token-file).\n\n"
          "options:\n"
          "  --allow 'COMMAND [ARGS]'\n"
          "                        a command line clients may run: the command (name or\n"
          "                        absolute path), then its exact arguments; {} stands\n"
          "                        for one argument, a final ... for any more; neither\n"
          "                        matches an option (a word starting with '-')\n"
          "  --token-file FILE     read the shared token from FILE\n"
          "  --run-as USER         run commands as USER (required when started as root)\n"
          "  --workdir DIR         run commands in DIR (required with --run-as; default: /)\n"
          "  --host HOST           address to listen on (default: 127.0.0.1)\n"
          "  --port PORT           TCP port (default: 8888; 0 picks one)\n"
          "  --backend {selector,io_uring,automatic}\n"
          "                        the event loop's I/O backend (default: $AIOCPP_BACKEND,\n"
          "                        else selector)\n"
          "  --time-limit SECONDS  kill a command after this long (default: 5)\n"
          "  --max-output BYTES    kill a command after this much output (default: 65536)\n"
          "  --max-line BYTES      longest line accepted from a client (default: 1024)\n",
          prog);
      std::exit(0);
    }
    if (i + 1 >= argc) usage_error(prog, "argument " + arg + ": expected one argument");
    const char* value = argv[++i];
    if (arg == "--allow") {
      o.policy.allowed.push_back(parse_rule(prog, value));
    } else if (arg == "--run-as") {
      run_as = value;
    } else if (arg == "--workdir") {
      workdir = value;
    } else if (arg == "--token-file") {
      token_file = value;
    } else if (arg == "--host") {
      o.host = value;
    } else if (arg == "--port") {
      double port = std::string(value) == "0" ? 0 : number(arg, value);
      if (port != static_cast<int>(port) || port > 65535) usage_error(prog, "bad --port");
      o.port = static_cast<int>(port);
    } else if (arg == "--backend") {
      try {
        o.backend = aiocpp::backend_from_name(value);
      } catch (const aiocpp::ValueError& e) {
        usage_error(prog, "argument --backend: " + std::string(e.what()));
      }
    } else if (arg == "--time-limit") {
      o.policy.time_limit = number(arg, value);
    } else if (arg == "--max-output") {
      o.policy.max_output = static_cast<std::size_t>(number(arg, value));
    } else if (arg == "--max-line") {
      o.policy.max_line = static_cast<std::size_t>(number(arg, value));
    } else {
      usage_error(prog, "unrecognized argument: " + arg);
    }
  }
  if (o.policy.allowed.empty()) usage_error(prog, "no command allowed: give at least one --allow");
  // Root would run every allowed command with every privilege: refuse,
  // unless told which unprivileged user to run them as.
  if (!run_as.empty()) {
    o.launch.run_as = parse_run_as(prog, run_as);
    if (workdir.empty()) usage_error(prog, "--run-as needs --workdir DIR: where commands run");
  } else if (::geteuid() == 0) {
    usage_error(prog,
                "refusing to run commands as root: give --run-as USER (an unprivileged user) "
                "and --workdir DIR");
  }
  if (!workdir.empty()) {
    struct stat st {};
    if (workdir.front() != '/' || ::stat(workdir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      usage_error(prog, "--workdir: not an absolute path to a directory: " + workdir);
    }
    o.launch.workdir = workdir;
  }
  if (!token_file.empty()) {
    std::ifstream in(token_file);
    if (!in || !std::getline(in, o.policy.token)) usage_error(prog, "cannot read " + token_file);
  } else if (const char* env = std::getenv("REMOTE_CMD_TOKEN")) {
    o.policy.token = env;
  }
  if (o.policy.token.empty()) {
    usage_error(prog, "no token: set REMOTE_CMD_TOKEN or give --token-file");
  }
  return o;
}

// 5 -> "5", 0.5 -> "0.5".
std::string seconds(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// One command's run: forwards its output to the client, within the limits.
class CommandRun : public aiocpp::SubprocessProtocol {
 public:
  CommandRun(std::shared_ptr<aiocpp::Transport> client, const Policy& policy)
      : client_(std::move(client)), policy_(policy) {}

  void connection_made(aiocpp::SubprocessTransport& process) override {
    process_ = &process;
    if (output_paused_) pause_output(true);
  }

  void pipe_data_received(int, std::string_view data) override {
    if (!limit_hit_.empty()) return;
    std::size_t room = policy_.max_output - sent_;
    std::size_t n = std::min(room, data.size());
    if (n > 0 && !client_->is_closing()) client_->write(data.substr(0, n));
    sent_ += n;
    last_ = n > 0 ? data[n - 1] : last_;
    if (n < data.size()) stop("output limit of " + std::to_string(policy_.max_output) + " bytes");
  }

  // Flow control: while the client's transport holds too much unsent output,
  // the command's own output waits in its pipe (and the command blocks on it).
  void pause_output(bool paused) {
    output_paused_ = paused;
    if (!process_) return;
    auto pipe = std::dynamic_pointer_cast<aiocpp::ReadTransport>(process_->get_pipe_transport(1));
    if (!pipe || pipe->is_closing()) return;
    if (paused) {
      pipe->pause_reading();
    } else {
      pipe->resume_reading();
    }
  }

  // Kills the command, once, saying why.
  void stop(const std::string& why) {
    if (!limit_hit_.empty() || !process_) return;
    limit_hit_ = why;
    try {
      process_->kill();
    } catch (const std::system_error&) {
      // Already reaped: nothing to kill.
    }
  }

  void process_exited() override { process_ = nullptr; }

  // The status line that ends the answer, at the start of a line.
  std::string status_line(int returncode) const {
    std::string line = (sent_ > 0 && last_ != '\n') ? "\n%% " : "%% ";
    if (!limit_hit_.empty()) return line + "killed: " + limit_hit_ + "\n";
    if (returncode < 0) return line + "killed by signal " + std::to_string(-returncode) + "\n";
    return line + "exit " + std::to_string(returncode) + "\n";
  }

 private:
  std::shared_ptr<aiocpp::Transport> client_;
  const Policy& policy_;
  aiocpp::SubprocessTransport* process_ = nullptr;  // valid until process_exited
  std::size_t sent_ = 0;
  char last_ = '\n';
  std::string limit_hit_;
  bool output_paused_ = false;
};

// CmdServerProtocol of the seed: one client, one command at a time.
//
// Reading from the client goes on while a command runs, so that its end of
// stream (the client has gone) is seen at once and the command killed. It
// pauses while the client's transport holds more unsent output than its
// high-water mark (pause_writing, until resume_writing), and while more than
// max_line * 16 bytes of commands wait their turn: a client that sends
// commands without reading the answers is then left waiting, not buffered.
class CmdServerProtocol : public aiocpp::Protocol,
                          public std::enable_shared_from_this<CmdServerProtocol> {
 public:
  CmdServerProtocol(const Policy& policy, const Launch& launch)
      : policy_(policy), launch_(launch) {}

  void connection_made(aiocpp::Transport& transport) override {
    std::cout << "Connection from " << transport.peername().to_string() << std::endl;
    transport_ = std::dynamic_pointer_cast<aiocpp::Transport>(transport.shared_from_this());
  }

  void data_received(std::string_view data) override {
    buffer_ += data;
    next_lines();
  }

  // The client has gone (a client half-closing and waiting for its answers
  // is not a use this server supports): stop its command now, not at the time limit.
  bool eof_received() override {
    if (running_) running_->stop("the client went away");
    return false;  // the transport closes
  }

  void pause_writing() override {
    writing_paused_ = true;
    if (running_) running_->pause_output(true);
    update_reading();
  }

  void resume_writing() override {
    writing_paused_ = false;
    if (running_) running_->pause_output(false);
    next_lines();
  }

  void connection_lost(std::exception_ptr) override {
    std::cout << "Close the client socket" << std::endl;
    if (running_) running_->stop("the client went away");
    transport_.reset();
  }

 private:
  bool open() const { return transport_ && !transport_->is_closing(); }

  // Handles complete lines until a command is running, the client's output
  // is paused, or the input is used up; then reads on only if there is room.
  void next_lines() {
    while (!running_ && !writing_paused_ && open()) {
      std::size_t newline = buffer_.find('\n');
      std::size_t length = newline == std::string::npos ? buffer_.size() : newline;
      if (length > policy_.max_line) {
        refuse_and_close("line longer than " + std::to_string(policy_.max_line) + " bytes");
        return;
      }
      if (newline == std::string::npos) break;
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      handle(line);
    }
    update_reading();
  }

  void update_reading() {
    if (!open()) return;
    bool room = buffer_.size() <= policy_.max_line * 16;
    if (!writing_paused_ && room) {
      transport_->resume_reading();
    } else {
      transport_->pause_reading();
    }
  }

  void handle(const std::string& line) {
    if (!authenticated_) {
      if (!remote_cmd::token_matches(policy_.token, line)) {
        std::cout << "Wrong token, close the socket" << std::endl;
        refuse_and_close("wrong token");
        return;
      }
      authenticated_ = true;
      transport_->write("%% welcome\n");
      return;
    }
    std::cout << "Command received: " << examples::py_bytes_repr(line + "\n") << std::endl;
    if (line == "exit") {
      std::cout << "Exit receive, close the socket" << std::endl;
      transport_->close();
      return;
    }
    remote_cmd::Verdict verdict = remote_cmd::check_command(policy_, line);
    if (!verdict.allowed) {
      transport_->write("%% refused: " + verdict.refusal + "\n");
      return;
    }
    run(std::move(verdict.argv));
  }

  void refuse_and_close(const std::string& why) {
    transport_->write("%% refused: " + why + "\n");
    transport_->close();
  }

  void run(std::vector<std::string> argv) {
    running_ = std::make_shared<CommandRun>(transport_, policy_);
    // Lifetime: the task holds the protocol until the command's answer is sent.
    auto self = shared_from_this();
    (void)aiocpp::get_running_loop().create_task(run_command(self, std::move(argv)));
  }

  static aiocpp::Task<void> run_command(std::shared_ptr<CmdServerProtocol> self,
                                        std::vector<std::string> argv) {
    aiocpp::EventLoop& loop = aiocpp::get_running_loop();
    std::shared_ptr<CommandRun> run = self->running_;
    aiocpp::SubprocessOptions options;
    options.stdin_ = aiocpp::subprocess::DEVNULL;
    options.stderr_ = aiocpp::subprocess::STDOUT;
    options.env = std::vector<std::string>{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"};
    options.cwd = self->launch_.workdir;
    if (self->launch_.run_as) {
      options.user = self->launch_.run_as->uid;
      options.group = self->launch_.run_as->gid;
      options.extra_groups = std::vector<gid_t>{};  // drop the server's supplementary groups
    }
    std::string status;
    try {
      auto factory = [run] { return run; };
      auto process = co_await loop.subprocess_exec(factory, argv, options);
      std::string limit = "time limit of " + seconds(self->policy_.time_limit) + " s";
      auto on_time_limit = [run, limit] { run->stop(limit); };
      aiocpp::TimerHandle timer = loop.call_later(self->policy_.time_limit, on_time_limit);
      int returncode = co_await process.transport->wait();
      timer.cancel();
      status = run->status_line(returncode);
    } catch (const std::exception& e) {
      status = std::string("%% failed: ") + e.what() + "\n";
    }
    self->running_.reset();
    if (!self->open()) co_return;
    self->transport_->write(status);
    self->next_lines();
  }

  const Policy& policy_;
  const Launch& launch_;
  std::shared_ptr<aiocpp::Transport> transport_;  // until connection_lost
  std::string buffer_;
  bool authenticated_ = false;
  bool writing_paused_ = false;
  std::shared_ptr<CommandRun> running_;
};

aiocpp::Task<> amain(const Options& options) {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();
  const Policy& policy = options.policy;
  const Launch& launch = options.launch;
  auto factory = [&policy, &launch] { return std::make_shared<CmdServerProtocol>(policy, launch); };
  std::shared_ptr<aiocpp::Server> server =
      co_await loop.create_server(factory, options.host, options.port);
  aiocpp::Task<void> serving = loop.create_task(server->serve_forever());
  // SIGTERM stops the server as Ctrl-C (SIGINT, handled by aiocpp::run) does:
  // a cancelled serve_forever closes the server, then its clients (aborting
  // those still open after a short grace period), and their commands are killed.
  auto stop = [serving]() mutable { serving.cancel(); };
  loop.add_signal_handler(SIGTERM, stop);
  // Printed once SIGTERM is handled: whoever waits for this line may send it.
  std::cout << "Serving on " << server->sockets().at(0).getsockname().to_string() << std::endl;
  try {
    co_await serving;
  } catch (const aiocpp::CancelledError&) {
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options = parse(argc, argv);
  try {
    aiocpp::run(amain(options), {.loop = {.backend = options.backend}});
  } catch (const aiocpp::KeyboardInterrupt&) {
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
