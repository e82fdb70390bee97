#pragma once
// Starting a child process: fork, then in the child only async-signal-safe
// calls (everything is prepared before fork), then exec. A CLOEXEC pipe
// carries a failure before or at exec back to the parent, which reports it
// as std::system_error with the child's errno.

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace aiocpp::detail {

struct SpawnSpec {
  std::vector<std::string> argv;                // argv[0] is looked up in PATH unless it has a '/'
  std::optional<std::vector<std::string>> env;  // the whole environment; the parent's when empty
  std::optional<std::string> cwd;
  // What becomes the child's fd 0, 1, 2: a descriptor of ours, or one of these.
  static constexpr int inherit = -1;
  static constexpr int same_as_stdout = -2;  // fd 2 only
  int stdio[3] = {inherit, inherit, inherit};
  bool start_new_session = false;
  bool close_fds = true;
  std::vector<int> pass_fds;
  // The ids the child takes before exec (SubprocessOptions' user, group, extra_groups).
  std::optional<uid_t> user;
  std::optional<gid_t> group;
  std::optional<std::vector<gid_t>> extra_groups;
};

// Starts the child and returns its pid once exec has succeeded. On failure
// the child has been reaped and std::system_error names the step that failed.
pid_t spawn_process(const SpawnSpec& spec);

}  // namespace aiocpp::detail
