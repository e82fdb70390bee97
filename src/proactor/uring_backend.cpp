#include "proactor/uring_backend.hpp"

#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "core/loop_impl.hpp"
#include "posix/socket_ops.hpp"

namespace aiocpp::detail {

namespace {

// Room for one iteration's operations; a fuller queue is submitted early.
constexpr unsigned ring_entries = 1024;

// COOP_TASKRUN: completions are delivered when the loop enters the kernel
// anyway, not by interrupting it. SINGLE_ISSUER | DEFER_TASKRUN (completions
// processed only when the loop asks: 0.95-0.98x the CPU per request,
// bench/README.md) only on request (`single_thread`): the ring then refuses
// every submission and every wait, the cancellations of close() included,
// from any thread but its issuer, where asyncio lets a loop be created, run
// and closed on different threads. R_DISABLED leaves the issuer unchosen
// until the ring is enabled, by the thread that first runs the loop
// (UringBackend::on_issuer_thread). A registered ring descriptor measured
// no gain.
int init_ring(io_uring& ring, bool single_thread = false) {
  io_uring_params params{};
  if (single_thread) {
    params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
                   IORING_SETUP_R_DISABLED | IORING_SETUP_TASKRUN_FLAG;
    return io_uring_queue_init_params(ring_entries, &ring, &params);
  }
  params.flags = IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  int rc = io_uring_queue_init_params(ring_entries, &ring, &params);
  if (rc == -EINVAL) {  // a kernel older than 5.19
    params = io_uring_params{};
    rc = io_uring_queue_init_params(ring_entries, &ring, &params);
  }
  return rc;
}

// LoopOptions::io_uring_buffer_ring; AIOCPP_URING_BUFFER_RING=0 changes its
// default only, so that the benchmark scripts can compare a binary's two ways.
bool wants_buffer_ring(const LoopOptions& options) {
  if (options.io_uring_buffer_ring) return *options.io_uring_buffer_ring;
  const char* use_ring = std::getenv("AIOCPP_URING_BUFFER_RING");
  return !use_ring || std::strcmp(use_ring, "0") != 0;
}

// What a loop bound to one thread says to another.
const char* const single_thread_refusal =
    "it was made with LoopOptions::io_uring_single_thread and its ring serves only the thread "
    "that first ran it";

std::string describe_failure(int err) {
  std::string why = std::strerror(err);
  if (err == EPERM) why += " (kernel.io_uring_disabled, or a seccomp filter)";
  if (err == ENOSYS) why += " (the kernel has no io_uring)";
  return "io_uring is not available: io_uring_queue_init failed: " + why;
}

}  // namespace

const std::string& io_uring_unavailable_reason() {
  static const std::string reason = [] {
    io_uring ring{};
    int rc = init_ring(ring);
    if (rc < 0) return describe_failure(-rc);
    io_uring_queue_exit(&ring);
    return std::string();
  }();
  return reason;
}

// Reads the wake-up eventfd: one read always pending, re-armed on completion.
class UringBackend::WakeupRead final : public Completion {
 public:
  explicit WakeupRead(UringBackend& backend) : backend_(backend) {}

  void arm() {
    // Lifetime: value_ is the backend's (through this object) until the
    // read's completion; close() cancels the read and waits for it.
    backend_.submit(this, [this](io_uring_sqe* sqe) {
      io_uring_prep_read(sqe, backend_.wakeup_fd_, &value_, sizeof value_, 0);
    });
  }

  void complete(int, std::uint32_t) override {
    if (!backend_.closed_) arm();
  }

 private:
  UringBackend& backend_;
  std::uint64_t value_ = 0;
};

UringBackend::UringBackend(LoopImpl& loop, const LoopOptions& options)
    : loop_(loop), single_thread_(options.io_uring_single_thread), enabled_(!single_thread_) {
  int rc = init_ring(ring_, single_thread_);
  if (rc == -EINVAL && single_thread_ && io_uring_unavailable_reason().empty()) {
    // Backend::automatic falls back to the selector on this RuntimeError.
    throw RuntimeError(
        "io_uring: the kernel refuses LoopOptions::io_uring_single_thread's "
        "IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED "
        "(Linux 6.1 or later has them): Invalid argument");
  }
  if (rc < 0) throw RuntimeError(describe_failure(-rc));
  ring_ready_ = true;
  // Blocking on purpose: io_uring reads a non-blocking descriptor at once
  // (EAGAIN) instead of waiting for it to become readable.
  wakeup_fd_ = eventfd(0, EFD_CLOEXEC);
  if (wakeup_fd_ < 0) {
    int err = errno;
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
    throw_os_error(err, "eventfd");
  }
  wakeup_read_ = std::make_unique<WakeupRead>(*this);
  wakeup_read_->arm();
  if (wants_buffer_ring(options)) (void)buffer_ring_.setup(ring_);
}

UringBackend::~UringBackend() { close(); }

bool UringBackend::on_issuer_thread() noexcept {
  if (!enabled_) {
    // The first thread to run (or close) the loop becomes the ring's issuer.
    // The system call itself: Debian's liburing 2.3 declares
    // io_uring_enable_rings but does not export it.
    if (::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS, nullptr, 0) <
        0) {
      return false;
    }
    issuer_ = std::this_thread::get_id();
    enabled_ = true;
  }
  return !single_thread_ || issuer_ == std::this_thread::get_id();
}

void UringBackend::check_run_here() {
  if (!on_issuer_thread()) {
    throw RuntimeError(std::string("Cannot run this io_uring event loop on this thread: ") +
                       single_thread_refusal);
  }
}

void UringBackend::check_close_here() {
  // Closing cancels the operations in flight and waits for their
  // completions, which the kernel gives to the issuer only. The wake-up
  // read is always in flight once the loop has run.
  if (!abandoned_ && in_flight_ > 0 && !on_issuer_thread()) {
    throw RuntimeError(
        std::string("Cannot close this io_uring event loop on this thread while operations are "
                    "in flight: ") +
        single_thread_refusal + "; close it there");
  }
}

io_uring_sqe* UringBackend::next_sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (!sqe) {
    io_uring_submit(&ring_);
    sqe = io_uring_get_sqe(&ring_);
  }
  if (!sqe) throw RuntimeError("io_uring: the submission queue is full");
  return sqe;
}

void UringBackend::cancel(Completion* completion) {
  io_uring_sqe* sqe = next_sqe();
  io_uring_prep_cancel(sqe, completion, 0);
  io_uring_sqe_set_data(sqe, nullptr);  // its own completion is ignored
}

void UringBackend::poll_once(int fd, unsigned events, Completion* completion) {
  submit(completion, [&](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, events); });
}

void UringBackend::unclaim(int fd) noexcept {
  auto it = claimed_.find(fd);
  if (it != claimed_.end() && --it->second == 0) claimed_.erase(it);
}

void UringBackend::close_claimed(int& fd) noexcept {
  if (fd < 0) return;
  if (!closed_) unclaim(fd);
  ::close(fd);
  fd = -1;
}

void UringBackend::check_unclaimed(int fd) const {
  if (claimed_.count(fd)) {
    throw RuntimeError("File descriptor " + std::to_string(fd) +
                       " is used by a transport or server of this loop");
  }
}

void UringBackend::wakeup() noexcept {
  // The loop's thread-safe queue calls this under its lock, and never after
  // the loop closed: the descriptor is still ours (ThreadsafeQueue).
  std::uint64_t one = 1;
  ssize_t ignored = ::write(wakeup_fd_, &one, sizeof one);
  (void)ignored;
}

namespace {

void check_enter(int rc, const char* what) {
  if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN) {
    throw_os_error(-rc, what);
  }
}

}  // namespace

// One system call per iteration: it submits this iteration's operations and
// waits. While I/O keeps coming, a wait that could sleep is first tried a few
// times without waiting, as the epoll loop does (core/poll_budget.hpp says
// why and how many): each such poll submits, runs the completions the kernel
// has queued for this thread, and looks at the completion queue.
void UringBackend::poll(double timeout) {
  bool ready = false;
  if (timeout != 0 && busy_ && io_uring_sq_ready(&ring_) > 0) {
    // This iteration's operations leave first, and what completes at once
    // (a send on loopback completes within its submission) is run without
    // counting as a poll's find: counted, each message's own send made the
    // polls look fruitful, and at 10,000 requests/s the budget stayed at
    // 32-64 polls per message (61 io_uring_enter per request).
    check_enter(io_uring_submit_and_get_events(&ring_), "io_uring_submit_and_get_events");
    ready = io_uring_cq_ready(&ring_) > 0;
  }
  if (timeout != 0 && busy_ && !ready) {
    const int polls = poll_budget_.polls();
    for (int i = 0; i < polls && !ready; ++i) {
      check_enter(io_uring_submit_and_get_events(&ring_), "io_uring_submit_and_get_events");
      ready = io_uring_cq_ready(&ring_) > 0;
    }
    if (polls > 0) poll_budget_.polled(ready);
  }
  if (!ready) {
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{};
    __kernel_timespec* tsp = nullptr;
    if (timeout >= 0) {
      double whole = std::floor(timeout);
      ts.tv_sec = static_cast<long long>(whole);
      ts.tv_nsec = static_cast<long long>((timeout - whole) * 1e9);
      tsp = &ts;
    }
    // Around a wait that may block only (see IoBackend::BlockingWaitHooks).
    const bool hooked = timeout != 0 && blocking_wait_hooks_.before;
    if (hooked) blocking_wait_hooks_.before(blocking_wait_hooks_.arg);
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, tsp, nullptr);
    if (hooked) blocking_wait_hooks_.after(blocking_wait_hooks_.arg);
    check_enter(rc, "io_uring_submit_and_wait_timeout");
    ready = io_uring_cq_ready(&ring_) > 0;
  }
  // A zero-timeout poll that found nothing says nothing about the traffic.
  if (ready || timeout != 0) busy_ = ready;
  dispatch_completions();
}

void UringBackend::dispatch_completions() {
  // One at a time: a completion may submit (or reap, when the submission
  // queue is full) before the next is looked at.
  io_uring_cqe* cqe;
  while (io_uring_peek_cqe(&ring_, &cqe) == 0) {
    auto* completion = static_cast<Completion*>(io_uring_cqe_get_data(cqe));
    int res = cqe->res;
    std::uint32_t flags = cqe->flags;
    io_uring_cqe_seen(&ring_, cqe);
    if (!completion) continue;  // a cancellation's own result
    if (!(flags & IORING_CQE_F_MORE)) --in_flight_;
    completion->complete(res, flags);
  }
}

void UringBackend::drain_in_flight() noexcept {
  // The kernel may write into buffers until each operation's final
  // completion: cancel them all and wait for every one before anything is
  // freed. Bounded, in case an operation cannot be cancelled (it is then
  // leaked, with the ring, rather than freed under the kernel).
  for (int round = 0; round < 100 && in_flight_ > 0; ++round) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (!sqe) {
      io_uring_submit(&ring_);
      sqe = io_uring_get_sqe(&ring_);
    }
    if (sqe) {
      io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY);
      io_uring_sqe_set_data(sqe, nullptr);
    }
    io_uring_cqe* cqe = nullptr;
    __kernel_timespec ts{.tv_sec = 0, .tv_nsec = 100'000'000};
    io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    try {
      dispatch_completions();
    } catch (...) {
      // Completions after close only release what they held.
    }
  }
}

void UringBackend::close() noexcept {
  if (closed_ || !ring_ready_) return;
  // Transports still open were released by EventLoop::close() with the
  // loop's other resources (LoopImpl::release_resources); their operations
  // are cancelled here with everything else.
  closed_ = true;
  // Bound to another thread (abandon_thread()): the kernel would refuse the
  // cancellations and the wait, so what it holds is leaked below, not freed.
  const bool here = on_issuer_thread();
  if (here) drain_in_flight();
  // Listeners hold their servers; the servers' sockets close with them.
  auto listeners = std::move(listeners_);
  listeners_.clear();
  listeners.clear();
  auto watchers = std::move(fd_watchers_);
  fd_watchers_.clear();
  watchers.clear();
  buffer_ring_.teardown(ring_, in_flight_ == 0);
  // Closing the ring's descriptor makes the kernel cancel what is left
  // (its task work may still write into what we leak).
  if (in_flight_ == 0 || !here) io_uring_queue_exit(&ring_);
  if (in_flight_ == 0) {
    wakeup_read_.reset();
  } else {
    (void)wakeup_read_.release();  // the kernel may still write into it
  }
  ring_ready_ = false;
  if (wakeup_fd_ >= 0) ::close(wakeup_fd_);
  wakeup_fd_ = -1;
}

}  // namespace aiocpp::detail
