#pragma once
// The write side's flow control (asyncio's _FlowControlMixin), shared by the
// transports that buffer writes: the watermarks, and pause_writing /
// resume_writing called in strictly alternating pairs.

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "aiocpp/protocols.hpp"
#include "aiocpp/transports.hpp"

namespace aiocpp::detail {

class LoopImpl;

// Hands a failure of a protocol method to the loop's exception handler, with
// the transport and protocol involved.
void report_protocol_error(LoopImpl& loop, const char* message, std::exception_ptr error,
                           std::shared_ptr<BaseTransport> transport,
                           std::shared_ptr<BaseProtocol> protocol);

class WriteFlowControl {
 public:
  // asyncio's defaults: high = 64 KiB, low = high / 4; ValueError unless high >= low.
  void set_limits(std::optional<std::size_t> high, std::optional<std::size_t> low);
  std::pair<std::size_t, std::size_t> limits() const { return {low_, high_}; }

  // protocol.pause_writing() once `buffered` has gone over the high-water mark.
  void maybe_pause(std::size_t buffered, LoopImpl& loop, const std::shared_ptr<BaseTransport>& t,
                   const std::shared_ptr<BaseProtocol>& protocol);
  // protocol.resume_writing() once `buffered` has drained to the low-water mark.
  void maybe_resume(std::size_t buffered, LoopImpl& loop, const std::shared_ptr<BaseTransport>& t,
                    const std::shared_ptr<BaseProtocol>& protocol);

 private:
  std::size_t high_ = 64 * 1024;
  std::size_t low_ = 16 * 1024;
  bool paused_ = false;
};

}  // namespace aiocpp::detail
