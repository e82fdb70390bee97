// expect: create_task takes the Task<T> that calling a coroutine function returns
#include <aiocpp/aiocpp.hpp>

aiocpp::Task<> work() { co_return; }

aiocpp::Task<> amain() {
  auto task = aiocpp::get_running_loop().create_task(work);  // work(), not work
  co_await task;
}
