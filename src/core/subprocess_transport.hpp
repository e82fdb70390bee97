#pragma once
// The subprocess transport (asyncio's BaseSubprocessTransport): a child
// process, its pipes, and the protocol calls in asyncio's order. Portable:
// the pipes are whatever transports the backend makes; the child's exit is
// watched with the loop's add_reader on its pidfd (posix/child_process.hpp).

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "aiocpp/subprocess.hpp"
#include "core/loop_impl.hpp"
#include "posix/child_process.hpp"

namespace aiocpp::detail {

class SubprocessTransportImpl final : public SubprocessTransport, public LoopResource {
 public:
  // `pipes` are our ends of the child's stdin, stdout and stderr (invalid
  // where that stream is not a pipe).
  SubprocessTransportImpl(EventLoop& loop, std::shared_ptr<BaseProtocol> protocol,
                          ChildProcess child);
  ~SubprocessTransportImpl();

  // Watches the child, connects the pipes, then schedules connection_made
  // and completes `waiter`.
  void start(std::shared_ptr<SubprocessTransportImpl> self, UniqueFd pipes[3], Future<void> waiter);

  // BaseTransport
  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closed_; }
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override { return protocol_; }

  // SubprocessTransport
  int get_pid() const override { return pid_; }
  std::optional<int> get_returncode() const override { return returncode_; }
  std::shared_ptr<BaseTransport> get_pipe_transport(int fd) const override;
  void send_signal(int signal) override;
  void terminate() override;
  void kill() override;
  Future<int> wait() override;

  void release_on_loop_close() noexcept override;

  // From the pipes' protocols.
  void pipe_data_received(int fd, std::string_view data);
  void pipe_connection_lost(int fd, std::exception_ptr error);
  void pipe_pause_writing();
  void pipe_resume_writing();

 private:
  struct Pipe {
    bool used = false;
    bool disconnected = false;
    std::shared_ptr<BaseTransport> transport;
  };

  void child_ready();
  void connected(Future<void> waiter);
  void try_finish();
  // Runs `fn` on the next iteration, or after connection_made if that has not run yet.
  void call(std::function<void()> fn);
  void call_connection_lost();

  EventLoop& loop_;
  LoopImpl& impl_;
  std::shared_ptr<BaseProtocol> protocol_;
  SubprocessProtocol* subprocess_protocol_ = nullptr;
  ChildProcess child_;
  int pid_;
  std::optional<int> returncode_;
  Pipe pipes_[3];
  // Calls waiting for connection_made (asyncio's _pending_calls); disengaged after it.
  std::optional<std::vector<std::function<void()>>> pending_{std::in_place};
  std::vector<Future<int>> exit_waiters_;
  // Lifetime: the loop's own reference, from start() until connection_lost
  // has returned (or the loop closes).
  std::shared_ptr<SubprocessTransportImpl> self_;
  bool closed_ = false;
  bool finished_ = false;
  bool lost_ = false;      // connection_lost has been called
  bool watching_ = false;  // the child's ready_fd is registered with the loop
  bool tracked_ = false;
};

}  // namespace aiocpp::detail
