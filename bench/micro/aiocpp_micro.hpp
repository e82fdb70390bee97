#pragma once
// What aiocpp's micro-benchmarks share.

#include <benchmark/benchmark.h>

#include "aiocpp/aiocpp.hpp"

namespace micro {

// Runs `body(state, loop)` as the loop's main task, counts one item per
// iteration, and closes the loop.
template <class Body>
void run_in_task(benchmark::State& state, Body body) {
  aiocpp::EventLoop loop;
  loop.run_until_complete(body(state, loop));
  state.SetItemsProcessed(state.iterations());
  loop.close();
}

}  // namespace micro
