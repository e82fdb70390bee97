// subprocess_exec and subprocess_shell (asyncio's BaseEventLoop methods and
// _make_subprocess_transport): check the arguments, set up the child's
// streams, start it, and wait for connection_made.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "core/connection_made.hpp"
#include "core/subprocess_transport.hpp"
#include "posix/pipe_ops.hpp"
#include "posix/spawn.hpp"

namespace aiocpp {

namespace {

bool has_nul(const std::string& text) { return text.find('\0') != std::string::npos; }

void check_arguments(const std::vector<std::string>& argv, const SubprocessOptions& options,
                     bool shell) {
  if (shell && argv.back().empty()) throw ValueError("cmd must be a non-empty string");
  if (argv.empty() || argv[0].empty()) throw ValueError("program must be a non-empty string");
  for (const auto& arg : argv) {
    if (has_nul(arg)) throw ValueError("embedded null byte");
  }
  if (options.env) {
    for (const auto& entry : *options.env) {
      if (has_nul(entry)) throw ValueError("embedded null byte");
      if (entry.find('=') == std::string::npos || entry[0] == '=') {
        throw ValueError("environment entries are NAME=value, got '" + entry + "'");
      }
    }
  }
  if (options.cwd && has_nul(*options.cwd)) throw ValueError("embedded null byte");
  auto check_stream = [](int value, const char* name, bool may_be_stdout) {
    if (value >= 0 || value == subprocess::PIPE || value == subprocess::DEVNULL ||
        value == subprocess::INHERIT || (may_be_stdout && value == subprocess::STDOUT)) {
      return;
    }
    throw ValueError(std::string("invalid value for ") + name + ": " + std::to_string(value));
  };
  check_stream(options.stdin_, "stdin", false);
  check_stream(options.stdout_, "stdout", false);
  check_stream(options.stderr_, "stderr", true);
}

}  // namespace

Task<TransportAndProtocol<SubprocessTransport, BaseProtocol>> EventLoop::subprocess_impl(
    ProtocolFactory factory, std::vector<std::string> argv, SubprocessOptions options, bool shell) {
  check_arguments(argv, options, shell);
  std::shared_ptr<BaseProtocol> protocol = detail::make_protocol(factory);
  if (!dynamic_cast<SubprocessProtocol*>(protocol.get())) {
    throw ValueError("subprocess_exec and subprocess_shell need a SubprocessProtocol");
  }

  // Our ends of the pipes, and what the child gets as fd 0, 1, 2.
  detail::UniqueFd ours[3];
  detail::UniqueFd theirs[3];
  detail::UniqueFd devnull;
  detail::SpawnSpec spec;
  const int wanted[3] = {options.stdin_, options.stdout_, options.stderr_};
  for (int fd = 0; fd < 3; ++fd) {
    int w = wanted[fd];
    if (w == subprocess::PIPE) {
      auto [read_end, write_end] = detail::make_pipe();
      ours[fd] = fd == 0 ? std::move(write_end) : std::move(read_end);
      theirs[fd] = fd == 0 ? std::move(read_end) : std::move(write_end);
      detail::set_nonblocking(ours[fd].get());  // ours only: the child's end stays blocking
      spec.stdio[fd] = theirs[fd].get();
    } else if (w == subprocess::DEVNULL) {
      if (!devnull) {
        devnull = detail::UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
        if (!devnull) detail::throw_os_error(errno, "open('/dev/null')");
      }
      spec.stdio[fd] = devnull.get();
    } else if (w == subprocess::STDOUT) {
      spec.stdio[fd] = detail::SpawnSpec::same_as_stdout;
    } else if (w >= 0) {
      spec.stdio[fd] = w;
    }  // INHERIT: SpawnSpec::inherit
  }
  spec.argv = std::move(argv);
  spec.env = std::move(options.env);
  spec.cwd = std::move(options.cwd);
  spec.start_new_session = options.start_new_session;
  spec.close_fds = options.close_fds;
  spec.pass_fds = std::move(options.pass_fds);
  spec.user = options.user;
  spec.group = options.group;
  spec.extra_groups = std::move(options.extra_groups);

  pid_t pid = detail::spawn_process(spec);  // throws if the program cannot run
  for (auto& fd : theirs) fd = detail::UniqueFd();
  devnull = detail::UniqueFd();
  std::optional<detail::ChildProcess> child;
  try {
    child.emplace(pid);
  } catch (...) {
    // The child cannot be watched (no eventfd, no thread): do not leave it behind.
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    throw;
  }

  auto transport =
      std::make_shared<detail::SubprocessTransportImpl>(*this, protocol, std::move(*child));
  Future<void> waiter = create_future<void>();
  transport->start(transport, ours, waiter);

  std::exception_ptr failed;
  try {
    co_await detail::wait_connection_made(waiter, transport);
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    // Cancelled (or failed) before connection_made: the transport is closed
    // (the child killed); as asyncio does, wait until it has been reaped.
    Future<int> exited = transport->wait();
    try {
      co_await exited;
    } catch (...) {
    }
    std::rethrow_exception(failed);
  }
  co_return TransportAndProtocol<SubprocessTransport, BaseProtocol>{std::move(transport),
                                                                    std::move(protocol)};
}

}  // namespace aiocpp
