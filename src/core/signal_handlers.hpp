#pragma once
// A loop's signal handlers (add_signal_handler / remove_signal_handler): the
// self-pipe the signal relay writes to, and the handle per signal.

#include <map>

#include "aiocpp/handle.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

class LoopImpl;

// ValueError unless 1 <= sig < NSIG, in asyncio's words.
void check_signal_number(int sig);

class SignalHandlers {
 public:
  explicit SignalHandlers(LoopImpl& loop) : loop_(loop) {}
  ~SignalHandlers() { remove_all(); }
  SignalHandlers(const SignalHandlers&) = delete;
  SignalHandlers& operator=(const SignalHandlers&) = delete;

  // Replaces any handler `sig` had; throws ValueError / RuntimeError in asyncio's words.
  void add(int sig, Handle handle);
  bool remove(int sig);
  // Restores every signal's previous action and closes the self-pipe.
  void remove_all() noexcept;

 private:
  void open_pipe();
  void read_pipe();

  LoopImpl& loop_;
  UniqueFd read_end_;
  UniqueFd write_end_;
  std::map<int, Handle> handlers_;
};

}  // namespace aiocpp::detail
