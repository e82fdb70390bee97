// aiocpp::run: asyncio.run's set-up and tear-down.

#include "aiocpp/runners.hpp"

#include <pthread.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <mutex>

#include "aiocpp/tasks.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp::detail {

extern thread_local EventLoop* running_loop;

namespace {

std::terminate_handler previous_terminate = nullptr;

// A KeyboardInterrupt that nobody catches (`int main() { aiocpp::run(amain()); }`
// and Ctrl-C) reaches std::terminate, which would abort: "terminate called
// after throwing an instance of 'aiocpp::KeyboardInterrupt'", status 134.
// CPython ends such a program the way an interrupted program ends: it
// flushes its output and kills itself with SIGINT under the default action,
// so the shell sees status 130 and a script running it stops too. This does
// the same; any other reason to terminate goes to the handler it replaced.
[[noreturn]] void terminate_on_keyboard_interrupt() noexcept {
  bool interrupted = false;
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const KeyboardInterrupt&) {
      interrupted = true;
    } catch (...) {
    }
  }
  if (interrupted) {
    try {
      std::cout.flush();
    } catch (...) {
    }
    std::fflush(nullptr);
    static constexpr char line[] = "KeyboardInterrupt\n";  // CPython's last line
    (void)!::write(STDERR_FILENO, line, sizeof line - 1);
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(SIGINT, &default_action, nullptr);
    sigset_t sigint;
    sigemptyset(&sigint);
    sigaddset(&sigint, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &sigint, nullptr);
    ::raise(SIGINT);
  }
  if (previous_terminate) previous_terminate();
  std::abort();
}

}  // namespace

void install_terminate_handler() {
  static std::once_flag once;
  std::call_once(once,
                 [] { previous_terminate = std::set_terminate(terminate_on_keyboard_interrupt); });
}

void check_not_running(const char* what) {
  if (running_loop) {
    throw RuntimeError(std::string(what) + " cannot be called from a running event loop");
  }
}

std::shared_ptr<EventLoop> start_run(const RunOptions& options) {
  check_not_running("aiocpp::run()");
  install_terminate_handler();
  auto loop = new_event_loop(options.loop);
  loop->set_debug(options.debug);
  set_event_loop(loop);
  return loop;
}

SigintCancels::SigintCancels(EventLoop& loop, TaskBase& main)
    : loop_(loop), interrupts_(std::make_shared<int>(0)) {
  if (::gettid() != ::getpid()) return;  // not the main thread
  struct sigaction current {};
  if (sigaction(SIGINT, nullptr, &current) != 0 || current.sa_handler != SIG_DFL ||
      (current.sa_flags & SA_SIGINFO)) {
    return;  // the program handles SIGINT itself
  }
  Ref<TaskBase> task(&main);
  loop.add_signal_handler(SIGINT, [&loop, task, interrupts = interrupts_] {
    ++*interrupts;
    // Back to the default action: a second Ctrl-C stops a program that
    // does not give up on the first.
    loop.remove_signal_handler(SIGINT);
    if (!task->done()) task->cancel();
  });
  installed_ = true;
}

SigintCancels::~SigintCancels() {
  if (installed_ && !loop_.is_closed()) loop_.remove_signal_handler(SIGINT);
}

bool SigintCancels::keyboard_interrupt(TaskBase& main) const {
  return *interrupts_ > 0 && main.uncancel() == 0;
}

void cancel_all_tasks(EventLoop& loop) {
  std::vector<Ref<TaskBase>> pending = impl_of(loop).pending_tasks();
  if (pending.empty()) return;
  for (auto& task : pending) task->cancel();
  std::vector<Future<void>> waiting;
  for (auto& task : pending) waiting.push_back(Access::erased_task(task.get()));
  auto all = [](std::vector<Future<void>> tasks) -> Task<void> {
    co_await gather(return_exceptions, std::move(tasks));
  }(std::move(waiting));
  loop.run_until_complete(std::move(all));
  for (auto& task : pending) {
    if (task->cancelled()) continue;
    if (auto error = task->exception()) {
      ExceptionContext context;
      context.message = "unhandled exception during aiocpp::run() shutdown";
      context.exception = error;
      context.future = Access::any_future(task.get());
      loop.call_exception_handler(context);
    }
  }
}

void finish_run(EventLoop& loop, bool unset_event_loop) noexcept {
  try {
    cancel_all_tasks(loop);
  } catch (...) {
    log_error("aiocpp::run(): error while cancelling the remaining tasks");
  }
  impl_of(loop).shutdown_default_executor();
  if (unset_event_loop) set_event_loop(nullptr);
  loop.close();
}

}  // namespace aiocpp::detail

namespace aiocpp {

EventLoop& Runner::get_loop() {
  if (state_ == State::closed) throw RuntimeError("Runner is closed");
  if (state_ == State::created) {
    if (options_.loop_factory) {
      loop_ = options_.loop_factory();
      if (!loop_) throw ValueError("Runner: loop_factory returned no loop");
    } else {
      loop_ = new_event_loop(options_.loop);
      set_event_loop(loop_);
      set_event_loop_ = true;
    }
    if (options_.debug) loop_->set_debug(*options_.debug);
    state_ = State::initialized;
  }
  return *loop_;
}

EventLoop& Runner::start_run() {
  detail::check_not_running("Runner.run()");
  detail::install_terminate_handler();
  return get_loop();
}

void Runner::close() noexcept {
  if (state_ != State::initialized) return;
  state_ = State::closed;
  detail::finish_run(*loop_, set_event_loop_);
  loop_.reset();
}

}  // namespace aiocpp
