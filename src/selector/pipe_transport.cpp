// What the two pipe transports share: registration with epoll, start-up in
// asyncio's order, connection_lost and release when the loop closes.

#include "selector/pipe_transport.hpp"

#include <unistd.h>

#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

PipeCore::PipeCore(EpollBackend& backend, int fd, std::shared_ptr<BaseProtocol> protocol)
    : backend_(backend), loop_(backend.loop()), fd_(fd), protocol_(std::move(protocol)) {}

PipeCore::~PipeCore() {
  if (tracked_) loop_.untrack(this);
  if (fd_ >= 0) {
    if (registered_) backend_.remove(fd_);
    ::close(fd_);
  }
}

void PipeCore::start(std::shared_ptr<BaseTransport> self, Future<void> waiter,
                     std::function<void()> made) {
  self_ = std::move(self);
  loop_.track(this);
  tracked_ = true;
  loop_.loop.call_soon([this, keep = self_, waiter, made = std::move(made)]() mutable {
    if (fd_ < 0) {
      if (waiter.valid() && !waiter.done()) waiter.set_result();
      return;  // closed before connection_made could run
    }
    try {
      made();
    } catch (...) {
      std::exception_ptr failed = std::current_exception();
      report("Fatal error: protocol.connection_made() call failed.", failed);
      if (waiter.valid() && !waiter.done()) waiter.set_exception(failed);
      schedule_connection_lost(failed);
      return;
    }
    started();
    if (waiter.valid() && !waiter.done()) waiter.set_result();
  });
}

void PipeCore::watch(std::uint32_t events) noexcept {
  if (fd_ < 0 || (registered_ && events == events_)) return;
  try {
    if (!registered_) {
      if (events == 0) return;
      backend_.add(fd_, events, this);
      registered_ = true;
    } else if (events == 0) {
      backend_.remove(fd_);
      registered_ = false;
    } else {
      backend_.modify(fd_, events, this);
    }
    events_ = events;
  } catch (...) {
    // A descriptor epoll refuses (a regular file slipped through, /dev/null):
    // nothing will ever be reported for it.
    report("Fatal error: could not watch the pipe", std::current_exception());
    events_ = 0;
  }
}

void PipeCore::report(const char* message, std::exception_ptr error) {
  report_protocol_error(loop_, message, std::move(error), self_, protocol_);
}

void PipeCore::schedule_connection_lost(std::exception_ptr error) {
  watch(0);
  if (!self_) return;
  loop_.loop.call_soon([this, keep = self_, error = std::move(error)]() mutable {
    call_connection_lost(std::move(error));
  });
}

void PipeCore::call_connection_lost(std::exception_ptr error) {
  if (!self_) return;  // already done
  std::shared_ptr<BaseTransport> keep = std::move(self_);
  std::shared_ptr<BaseProtocol> protocol = std::move(protocol_);
  watch(0);
  std::exception_ptr raised;
  if (protocol) {
    try {
      protocol->connection_lost(std::move(error));
    } catch (...) {
      raised = std::current_exception();
    }
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  loop_.untrack(this);
  tracked_ = false;
  if (raised) std::rethrow_exception(raised);  // reaches the handler as "Exception in callback"
}

void PipeCore::release_on_loop_close() noexcept {
  std::shared_ptr<BaseTransport> keep = std::move(self_);
  tracked_ = false;  // the loop has untracked it
  if (fd_ >= 0) {
    if (registered_) backend_.remove(fd_);
    registered_ = false;
    ::close(fd_);
    fd_ = -1;
  }
  protocol_.reset();
}

std::any PipeCore::extra_info(std::string_view name, std::any default_value) const {
  if (name == "pipe" && fd_ >= 0) return std::any(fd_);
  return default_value;
}

std::shared_ptr<ReadTransport> EpollBackend::make_read_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<ReadPipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

std::shared_ptr<WriteTransport> EpollBackend::make_write_pipe_transport(
    int fd, std::shared_ptr<BaseProtocol> protocol, Future<void> waiter) {
  auto transport = std::make_shared<WritePipeTransport>(*this, fd, std::move(protocol));
  transport->start(transport, std::move(waiter));
  return transport;
}

}  // namespace aiocpp::detail
