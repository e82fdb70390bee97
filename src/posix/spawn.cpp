#include "posix/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "aiocpp/errors.hpp"
#include "posix/pipe_ops.hpp"

extern char** environ;

namespace aiocpp::detail {

namespace {

// What the child reports through the error pipe.
enum class Step : int { dup, session, chdir, groups, group, user, exec };

struct Failure {
  Step step;
  int error;
};

// Everything the child needs, prepared before fork: no allocation after it.
struct Prepared {
  std::vector<std::string> candidates;  // paths to try for argv[0]
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::vector<int> keep;  // descriptors close_fds must not close, sorted
  int max_fd = 0;
};

std::vector<std::string> exec_candidates(const SpawnSpec& spec) {
  const std::string& program = spec.argv[0];
  if (program.find('/') != std::string::npos) return {program};
  // PATH as the child will see it (os.get_exec_path(env) in Python).
  const char* path = nullptr;
  if (spec.env) {
    for (const auto& entry : *spec.env) {
      if (entry.rfind("PATH=", 0) == 0) path = entry.c_str() + 5;
    }
  } else {
    path = std::getenv("PATH");
  }
  std::string dirs = path ? path : "/bin:/usr/bin";
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t colon = dirs.find(':', start);
    std::string dir = dirs.substr(start, colon == std::string::npos ? colon : colon - start);
    out.push_back(dir.empty() ? program : dir + "/" + program);
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return out;
}

[[noreturn]] void child_fail(int error_fd, Step step, int error) {
  Failure failure{step, error};
  ssize_t ignored = ::write(error_fd, &failure, sizeof failure);
  (void)ignored;
  _exit(255);
}

void close_others(const Prepared& p) {
  int from = 3;
  for (int fd : p.keep) {
    if (fd < from) continue;
    if (fd > from && ::syscall(SYS_close_range, from, fd - 1, 0) != 0) {
      for (int i = from; i < fd; ++i) ::close(i);
    }
    from = fd + 1;
  }
  if (::syscall(SYS_close_range, from, ~0u, 0) != 0) {
    for (int i = from; i < p.max_fd; ++i) ::close(i);
  }
}

// The child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void run_child(const SpawnSpec& spec, const Prepared& p, int error_fd) {
  // Python's restore_signals: the parent may ignore SIGPIPE (pipe transports do).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  ::sigaction(SIGPIPE, &dfl, nullptr);
  ::sigaction(SIGXFSZ, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  int source[3] = {spec.stdio[0], spec.stdio[1], spec.stdio[2]};
  // A source that is itself 0, 1 or 2 could be overwritten by an earlier dup2.
  for (int i = 0; i < 3; ++i) {
    if (source[i] >= 0 && source[i] < 3 && source[i] != i) {
      source[i] = ::fcntl(source[i], F_DUPFD_CLOEXEC, 3);
      if (source[i] < 0) child_fail(error_fd, Step::dup, errno);
    }
  }
  for (int i = 0; i < 3; ++i) {
    int from = source[i] == SpawnSpec::same_as_stdout ? 1 : source[i];
    if (from == SpawnSpec::inherit) continue;
    if (from == i) {
      if (::fcntl(i, F_SETFD, 0) != 0) child_fail(error_fd, Step::dup, errno);
    } else if (::dup2(from, i) < 0) {
      child_fail(error_fd, Step::dup, errno);
    }
  }
  if (spec.start_new_session && ::setsid() < 0) child_fail(error_fd, Step::session, errno);
  if (spec.cwd && ::chdir(spec.cwd->c_str()) != 0) child_fail(error_fd, Step::chdir, errno);
  // Groups first: once the user id has changed, the right to change them is gone.
  if (spec.extra_groups && ::setgroups(spec.extra_groups->size(), spec.extra_groups->data()) != 0) {
    child_fail(error_fd, Step::groups, errno);
  }
  if (spec.group && ::setregid(*spec.group, *spec.group) != 0) {
    child_fail(error_fd, Step::group, errno);
  }
  if (spec.user && ::setreuid(*spec.user, *spec.user) != 0) {
    child_fail(error_fd, Step::user, errno);
  }
  if (spec.close_fds) close_others(p);
  for (int fd : spec.pass_fds) ::fcntl(fd, F_SETFD, 0);
  char* const* envp = spec.env ? p.envp.data() : environ;
  int saved = 0;
  for (const auto& path : p.candidates) {
    ::execve(path.c_str(), p.argv.data(), envp);
    // As Python does: the first error other than "not there" wins.
    if (errno != ENOENT && errno != ENOTDIR && saved == 0) saved = errno;
  }
  child_fail(error_fd, Step::exec, saved ? saved : errno);
}

std::string quoted(const std::string& text) { return "'" + text + "'"; }

}  // namespace

pid_t spawn_process(const SpawnSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) throw ValueError("no program to run");
  Prepared p;
  p.candidates = exec_candidates(spec);
  for (const auto& a : spec.argv) p.argv.push_back(const_cast<char*>(a.c_str()));
  p.argv.push_back(nullptr);
  if (spec.env) {
    for (const auto& e : *spec.env) p.envp.push_back(const_cast<char*>(e.c_str()));
    p.envp.push_back(nullptr);
  }
  auto [error_read, error_write] = make_pipe();
  p.keep = spec.pass_fds;
  p.keep.push_back(error_write.get());
  std::sort(p.keep.begin(), p.keep.end());
  rlimit limit{};
  p.max_fd = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                 ? static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 1 << 20))
                 : 65536;

  pid_t pid = ::fork();
  if (pid < 0) throw_os_error(errno, "fork");
  if (pid == 0) run_child(spec, p, error_write.get());

  error_write = UniqueFd();  // the child's copy is the only one left: EOF means exec worked
  Failure failure{};
  std::size_t got = 0;
  while (got < sizeof failure) {
    ssize_t n =
        ::read(error_read.get(), reinterpret_cast<char*>(&failure) + got, sizeof failure - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got == 0) return pid;  // exec succeeded

  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got < sizeof failure) throw RuntimeError("the child failed before exec (truncated report)");
  switch (failure.step) {
    case Step::exec:
      throw_os_error(failure.error, "cannot run " + quoted(spec.argv[0]));
    case Step::chdir:
      throw_os_error(failure.error, "cannot change directory to " + quoted(*spec.cwd));
    case Step::session:
      throw_os_error(failure.error, "setsid");
    case Step::groups:
      throw_os_error(failure.error, "setgroups");
    case Step::group:
      throw_os_error(failure.error, "cannot change the group to " + std::to_string(*spec.group));
    case Step::user:
      throw_os_error(failure.error, "cannot change the user to " + std::to_string(*spec.user));
    case Step::dup:
      break;
  }
  throw_os_error(failure.error, "cannot set up the child's standard streams");
}

}  // namespace aiocpp::detail
