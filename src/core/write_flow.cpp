#include "core/write_flow.hpp"

#include <string>

#include "core/loop_impl.hpp"

namespace aiocpp::detail {

void report_protocol_error(LoopImpl& loop, const char* message, std::exception_ptr error,
                           std::shared_ptr<BaseTransport> transport,
                           std::shared_ptr<BaseProtocol> protocol) {
  ExceptionContext context;
  context.message = message;
  context.exception = std::move(error);
  context.transport = std::move(transport);
  context.protocol = std::move(protocol);
  loop.loop.call_exception_handler(context);
}

void WriteFlowControl::set_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) {
  std::size_t h = high ? *high : (low ? 4 * *low : 64 * 1024);
  std::size_t l = low ? *low : h / 4;
  if (h < l) {
    throw ValueError("high (" + std::to_string(h) + ") must be >= low (" + std::to_string(l) +
                     ") must be >= 0");
  }
  high_ = h;
  low_ = l;
}

void WriteFlowControl::maybe_pause(std::size_t buffered, LoopImpl& loop,
                                   const std::shared_ptr<BaseTransport>& t,
                                   const std::shared_ptr<BaseProtocol>& protocol) {
  if (buffered <= high_ || paused_ || !protocol) return;
  paused_ = true;
  try {
    protocol->pause_writing();
  } catch (...) {
    report_protocol_error(loop, "protocol.pause_writing() failed", std::current_exception(), t,
                          protocol);
  }
}

void WriteFlowControl::maybe_resume(std::size_t buffered, LoopImpl& loop,
                                    const std::shared_ptr<BaseTransport>& t,
                                    const std::shared_ptr<BaseProtocol>& protocol) {
  if (!paused_ || buffered > low_ || !protocol) return;
  paused_ = false;
  try {
    protocol->resume_writing();
  } catch (...) {
    report_protocol_error(loop, "protocol.resume_writing() failed", std::current_exception(), t,
                          protocol);
  }
}

}  // namespace aiocpp::detail
