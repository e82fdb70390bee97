// loop.run_in_executor: seed 003 ("Event loop", running code in thread or
// process pools). Blocking file I/O goes to the default thread pool, then to
// a pool of our own; the CPU-bound sum goes to a pool too.
//
//   default thread pool b'\x8f...'   (100 random bytes)
//   custom thread pool b'...'
//   custom pool, CPU-bound 333333283333335000000
//
// The seed's third option is a ProcessPoolExecutor: Python needs processes
// to run CPU-bound work in parallel because of its GIL. C++ threads run in
// parallel already, so aiocpp has no process pool; a ThreadPoolExecutor does
// that job here. The sum is done in 128-bit integers so that it prints the
// same number Python's unbounded integers give.

#include <fstream>
#include <iostream>
#include <string>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

// File operations (such as logging) can block the event loop: run them in a
// thread pool.
std::string blocking_io() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  std::string data(100, '\0');
  urandom.read(data.data(), static_cast<std::streamsize>(data.size()));
  data.resize(static_cast<std::size_t>(urandom.gcount()));
  return data;
}

// sum(i * i for i in range(10 ** 7))
unsigned __int128 cpu_bound() {
  unsigned __int128 total = 0;
  for (unsigned long long i = 0; i < 10'000'000ULL; ++i)
    total += static_cast<unsigned __int128>(i) * i;
  return total;
}

std::string to_decimal(unsigned __int128 value) {
  if (value == 0) return "0";
  std::string digits;
  while (value > 0) {
    digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(value % 10)));
    value /= 10;
  }
  return digits;
}

aiocpp::Task<> amain() {
  aiocpp::EventLoop& loop = aiocpp::get_running_loop();

  // 1. Run in the loop's default executor:
  std::string result = co_await loop.run_in_executor(nullptr, blocking_io);
  std::cout << "default thread pool " << examples::py_bytes_repr(result) << std::endl;

  // 2. Run in a custom thread pool (the `with` block: shut down at the end):
  {
    aiocpp::ThreadPoolExecutor pool;
    result = co_await loop.run_in_executor(&pool, blocking_io);
    std::cout << "custom thread pool " << examples::py_bytes_repr(result) << std::endl;
    pool.shutdown(true);
  }

  // 3. CPU-bound work in a pool of its own (see the note above):
  {
    aiocpp::ThreadPoolExecutor pool;
    unsigned __int128 sum = co_await loop.run_in_executor(&pool, cpu_bound);
    std::cout << "custom pool, CPU-bound " << to_decimal(sum) << std::endl;
    pool.shutdown(true);
  }
}

}  // namespace

int main(int argc, char** argv) {
  // --host and --port are accepted, as by every example, and ignored.
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 0,
      "run_in_executor from seed 003 (\"Event loop\", running code in thread or\n"
      "process pools): blocking I/O in the default pool and in a pool of its own,\n"
      "a CPU-bound sum in a pool. Uses no network: --host and --port are ignored.");
  try {
    aiocpp::run(amain(), args.run_options());
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
