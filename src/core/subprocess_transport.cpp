// asyncio's BaseSubprocessTransport: pipe bookkeeping, the return code, the
// order of the protocol's calls, kill on close, and the exit waiters.

#include "core/subprocess_transport.hpp"

#include <signal.h>

#include "core/write_flow.hpp"

namespace aiocpp::detail {

namespace {

// The protocol of one of the child's pipes (asyncio's
// ReadSubprocessPipeProto / WriteSubprocessPipeProto): forwards to the
// subprocess transport. Lifetime: holds the transport until connection_lost,
// which breaks the transport -> pipe -> protocol -> transport cycle.
class PipeProtocol final : public Protocol {
 public:
  PipeProtocol(std::shared_ptr<SubprocessTransportImpl> owner, int fd)
      : owner_(std::move(owner)), fd_(fd) {}

  void data_received(std::string_view data) override {
    if (owner_) owner_->pipe_data_received(fd_, data);
  }
  bool eof_received() override { return false; }
  void connection_lost(std::exception_ptr error) override {
    std::shared_ptr<SubprocessTransportImpl> owner = std::move(owner_);
    if (owner) owner->pipe_connection_lost(fd_, std::move(error));
  }
  void pause_writing() override {
    if (owner_) owner_->pipe_pause_writing();
  }
  void resume_writing() override {
    if (owner_) owner_->pipe_resume_writing();
  }

 private:
  std::shared_ptr<SubprocessTransportImpl> owner_;
  int fd_;
};

}  // namespace

SubprocessTransportImpl::SubprocessTransportImpl(EventLoop& loop,
                                                 std::shared_ptr<BaseProtocol> protocol,
                                                 ChildProcess child)
    : loop_(loop), impl_(impl_of(loop)), child_(std::move(child)), pid_(child_.pid()) {
  set_protocol(std::move(protocol));
}

SubprocessTransportImpl::~SubprocessTransportImpl() {
  if (tracked_) impl_.untrack(this);
}

void SubprocessTransportImpl::start(std::shared_ptr<SubprocessTransportImpl> self,
                                    UniqueFd pipes[3], Future<void> waiter) {
  self_ = self;
  impl_.track(this);
  tracked_ = true;
  loop_.add_reader(child_.ready_fd(), [this] { child_ready(); });
  watching_ = true;
  for (int fd = 0; fd < 3; ++fd) {
    if (!pipes[fd]) continue;
    pipes_[fd].used = true;
    auto protocol = std::make_shared<PipeProtocol>(self, fd);
    // Each pipe's connection_made is scheduled before ours, below.
    if (fd == 0) {
      pipes_[fd].transport =
          impl_.backend->make_write_pipe_transport(pipes[fd].release(), protocol, Future<void>());
    } else {
      pipes_[fd].transport =
          impl_.backend->make_read_pipe_transport(pipes[fd].release(), protocol, Future<void>());
    }
  }
  loop_.call_soon([self = std::move(self), waiter]() mutable { self->connected(waiter); });
}

void SubprocessTransportImpl::connected(Future<void> waiter) {
  if (protocol_ && !lost_) {
    std::shared_ptr<BaseProtocol> keep = protocol_;
    try {
      if (subprocess_protocol_) subprocess_protocol_->connection_made(*this);
    } catch (...) {
      report_protocol_error(impl_, "Exception in callback SubprocessProtocol.connection_made()",
                            std::current_exception(), self_, protocol_);
    }
  }
  // What happened meanwhile, in its order, after connection_made.
  std::vector<std::function<void()>> calls = std::move(*pending_);
  pending_.reset();
  for (auto& fn : calls) loop_.call_soon(std::move(fn));
  if (waiter.valid() && !waiter.done()) waiter.set_result();
}

void SubprocessTransportImpl::call(std::function<void()> fn) {
  if (pending_) {
    pending_->push_back(std::move(fn));
  } else {
    loop_.call_soon(std::move(fn));
  }
}

void SubprocessTransportImpl::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  protocol_ = std::move(protocol);
  subprocess_protocol_ = dynamic_cast<SubprocessProtocol*>(protocol_.get());
}

std::any SubprocessTransportImpl::get_extra_info(std::string_view name,
                                                 std::any default_value) const {
  if (name == "subprocess") return std::any(pid_);  // asyncio gives the Popen object
  return default_value;
}

std::shared_ptr<BaseTransport> SubprocessTransportImpl::get_pipe_transport(int fd) const {
  if (fd < 0 || fd > 2) return nullptr;
  return pipes_[fd].transport;
}

void SubprocessTransportImpl::pipe_data_received(int fd, std::string_view data) {
  if (pending_) {
    // connection_made has not run yet: keep a copy for later.
    call([self = self_, fd, data = std::string(data)] {
      if (self->subprocess_protocol_) self->subprocess_protocol_->pipe_data_received(fd, data);
    });
    return;
  }
  // The steady state: straight from the loop's read buffer, no copy.
  if (subprocess_protocol_) subprocess_protocol_->pipe_data_received(fd, data);
}

void SubprocessTransportImpl::pipe_connection_lost(int fd, std::exception_ptr error) {
  pipes_[fd].disconnected = true;
  call([self = self_, fd, error] {
    if (self->subprocess_protocol_) self->subprocess_protocol_->pipe_connection_lost(fd, error);
  });
  try_finish();
}

void SubprocessTransportImpl::pipe_pause_writing() {
  if (protocol_) protocol_->pause_writing();
}

void SubprocessTransportImpl::pipe_resume_writing() {
  if (protocol_) protocol_->resume_writing();
}

void SubprocessTransportImpl::child_ready() {
  if (!watching_) return;
  // Unregister before the reap closes the descriptor.
  int pidfd = child_.ready_fd();
  loop_.remove_reader(pidfd);
  watching_ = false;
  std::optional<int> code = child_.try_reap();
  if (!code) {  // a pidfd turns readable only at exit, but be safe
    loop_.add_reader(pidfd, [this] { child_ready(); });
    watching_ = true;
    return;
  }
  returncode_ = code;
  // As asyncio 3.11: at the reap, even while a grandchild still holds a pipe.
  call([self = self_] {
    if (self->subprocess_protocol_) self->subprocess_protocol_->process_exited();
  });
  try_finish();
}

// asyncio's _try_finish: once the child has exited and every pipe is lost,
// connection_lost.
void SubprocessTransportImpl::try_finish() {
  if (finished_ || !returncode_) return;
  for (const Pipe& pipe : pipes_) {
    if (pipe.used && !pipe.disconnected) return;
  }
  finished_ = true;
  call([self = self_] { self->call_connection_lost(); });
}

void SubprocessTransportImpl::call_connection_lost() {
  std::shared_ptr<SubprocessTransportImpl> keep = std::move(self_);
  std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  subprocess_protocol_ = nullptr;
  lost_ = true;
  std::exception_ptr raised;
  if (protocol) {
    try {
      protocol->connection_lost(nullptr);
    } catch (...) {
      raised = std::current_exception();
    }
  }
  // Wake what waits for the exit (asyncio's _exit_waiters).
  for (auto& waiter : exit_waiters_) {
    if (!waiter.done()) waiter.set_result(*returncode_);
  }
  exit_waiters_.clear();
  if (tracked_) impl_.untrack(this);
  tracked_ = false;
  if (raised) std::rethrow_exception(raised);
}

void SubprocessTransportImpl::close() {
  if (closed_) return;
  closed_ = true;
  for (Pipe& pipe : pipes_) {
    if (pipe.transport) pipe.transport->close();
  }
  // asyncio kills a child still running when its transport closes.
  if (!returncode_) (void)child_.send_signal(SIGKILL);  // ESRCH: it has just exited
}

// As asyncio 3.11 (whose Popen.send_signal skips a child it knows has
// exited): nothing once the child is reaped, ProcessLookupError once the
// transport is finished.
void SubprocessTransportImpl::send_signal(int signal) {
  if (lost_) throw_os_error(ESRCH, "process " + std::to_string(pid_) + " has exited");
  if (returncode_) return;
  // Not yet reaped, the child cannot be gone (a zombie takes signals).
  int error = child_.send_signal(signal);
  if (error != 0) throw_os_error(error, "send_signal(" + std::to_string(signal) + ")");
}

void SubprocessTransportImpl::terminate() { send_signal(SIGTERM); }

void SubprocessTransportImpl::kill() { send_signal(SIGKILL); }

Future<int> SubprocessTransportImpl::wait() {
  Future<int> waiter = loop_.create_future<int>();
  // As asyncio 3.11's _wait(): at once when the child is known to have
  // exited; otherwise once the transport is finished (pipes closed too).
  if (returncode_) {
    waiter.set_result(*returncode_);
  } else {
    exit_waiters_.push_back(waiter);
  }
  return waiter;
}

void SubprocessTransportImpl::release_on_loop_close() noexcept {
  // The loop is closing: no callback can run any more. Do not leave the
  // child running or unreaped: kill it and reap it now.
  std::shared_ptr<SubprocessTransportImpl> keep = std::move(self_);
  tracked_ = false;  // the loop has untracked it
  if (!child_.reaped()) {
    if (!returncode_) (void)child_.send_signal(SIGKILL);
    returncode_ = child_.reap();
  }
  watching_ = false;
  for (Pipe& pipe : pipes_) pipe.transport.reset();  // tracked too: they close themselves
  pending_.reset();
  exit_waiters_.clear();
  protocol_.reset();
  subprocess_protocol_ = nullptr;
}

}  // namespace aiocpp::detail
