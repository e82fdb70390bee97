#pragma once
// Relays POSIX signals to event loops: a process-wide, async-signal-safe
// handler writes the signal's number to the self-pipe of the loop that asked
// for it (asyncio's signal.set_wakeup_fd, per signal). The loop reads the
// pipe on its own thread, so handlers never run inside the signal handler,
// and a signal that arrives while the loop is not running waits in the pipe.

namespace aiocpp::detail {

// Routes `sig` to `wakeup_fd` (non-blocking write end), installing the relay
// handler with SA_RESTART. The action it replaces is kept for release_signal.
// Throws RuntimeError("sig 9 cannot be caught") for SIGKILL / SIGSTOP.
void relay_signal(int sig, int wakeup_fd);

// Stops relaying `sig` to `wakeup_fd` and restores the action relay_signal
// replaced; a no-op if another loop has taken the signal over since.
void release_signal(int sig, int wakeup_fd) noexcept;

}  // namespace aiocpp::detail
