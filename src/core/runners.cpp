// aiocpp::run: asyncio.run's set-up and tear-down.

#include "aiocpp/runners.hpp"

#include <unistd.h>

#include <csignal>

#include "aiocpp/tasks.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp::detail {

extern thread_local EventLoop* running_loop;

std::shared_ptr<EventLoop> start_run(const RunOptions& options) {
  if (running_loop) {
    throw RuntimeError("aiocpp::run() cannot be called from a running event loop");
  }
  auto loop = new_event_loop(options.loop);
  loop->set_debug(options.debug);
  set_event_loop(loop);
  return loop;
}

std::shared_ptr<bool> cancel_on_sigint(EventLoop& loop, TaskBase& main) {
  auto interrupted = std::make_shared<bool>(false);
  if (::gettid() != ::getpid()) return interrupted;  // not the main thread
  struct sigaction current {};
  if (sigaction(SIGINT, nullptr, &current) != 0 || current.sa_handler != SIG_DFL ||
      (current.sa_flags & SA_SIGINFO)) {
    return interrupted;  // the program handles SIGINT itself
  }
  Ref<TaskBase> task(&main);
  loop.add_signal_handler(SIGINT, [&loop, task, interrupted] {
    *interrupted = true;
    // Back to the default action: a second Ctrl-C stops a program that
    // does not give up on the first.
    loop.remove_signal_handler(SIGINT);
    task->cancel();
  });
  return interrupted;
}

void cancel_all_tasks(EventLoop& loop) {
  std::vector<Ref<TaskBase>> pending = impl_of(loop).pending_tasks();
  if (pending.empty()) return;
  for (auto& task : pending) task->cancel();
  std::vector<Future<void>> waiting;
  for (auto& task : pending) waiting.push_back(Task<void>::erased(task.get()));
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
      context.future = task;
      loop.call_exception_handler(context);
    }
  }
}

void finish_run(EventLoop& loop) noexcept {
  try {
    cancel_all_tasks(loop);
  } catch (...) {
    log_error("aiocpp::run(): error while cancelling the remaining tasks");
  }
  impl_of(loop).shutdown_default_executor();
  set_event_loop(nullptr);
  loop.close();
}

}  // namespace aiocpp::detail
