// Runs a coroutine on an installed aiocpp: proves headers, library and
// package files are all there.
#include <aiocpp/aiocpp.hpp>
#include <cstdio>

aiocpp::Task<int> answer() {
  co_await aiocpp::sleep(0.001);
  co_return 42;
}

int main() {
  int value = aiocpp::run(answer());
  std::printf("%d\n", value);
  return value == 42 ? 0 : 1;
}
