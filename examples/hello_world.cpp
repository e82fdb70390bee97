// Hello World with call_soon: seed 003 ("Event loop", the example of the
// asyncio documentation). Schedules hello_world() with call_soon; it prints
// "Hello World" and stops the loop, which ends run_forever().

#include <functional>
#include <iostream>

#include "aiocpp/aiocpp.hpp"
#include "example_args.hpp"

namespace {

void hello_world(aiocpp::EventLoop& loop) {
  std::cout << "Hello World" << std::endl;
  loop.stop();
}

}  // namespace

int main(int argc, char** argv) {
  // --host and --port are accepted, as by every example, and ignored.
  examples::Args args = examples::parse_args(
      argc, argv, "127.0.0.1", 0,
      "Hello World from seed 003 (\"Event loop\", the asyncio docs' example):\n"
      "call_soon(hello_world) prints \"Hello World\" and stops the loop,\n"
      "which ends run_forever(). Uses no network: --host and --port are ignored.");

  aiocpp::EventLoop& loop = examples::event_loop(args);

  // Schedule a call to hello_world()
  loop.call_soon(hello_world, std::ref(loop));

  // Blocking call interrupted by loop.stop()
  loop.run_forever();
  loop.close();
  return 0;
}
