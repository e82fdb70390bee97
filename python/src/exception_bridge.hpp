#pragma once
// Routes what the C++ loop reports (a protocol method that raised inside a
// transport, a failed accept...) to the Python loop's call_exception_handler,
// with asyncio's context keys.

#include "loop.hpp"

namespace aiocpp::python {

void install_exception_bridge(PyLoop* loop);

}  // namespace aiocpp::python
