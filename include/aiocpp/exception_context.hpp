#pragma once
// What call_exception_handler receives: asyncio's context dict as a struct.

#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "aiocpp/future.hpp"
#include "aiocpp/handle.hpp"

namespace aiocpp {

class EventLoop;
class BaseTransport;
class BaseProtocol;

struct ExceptionContext {
  std::string message{};
  std::exception_ptr exception{};
  Handle handle{};                                           // the callback that failed, if any
  AnyFuture future{};                                        // the future or task involved, if any
  std::shared_ptr<BaseTransport> transport{};                // the transport involved, if any
  std::shared_ptr<BaseProtocol> protocol{};                  // the protocol involved, if any
  int socket = -1;                                           // the socket involved, if any
  std::vector<std::pair<std::string, std::string>> extra{};  // anything else worth logging
};

using ExceptionHandler = std::function<void(EventLoop&, const ExceptionContext&)>;

// The default handler logs through this; replace it to route aiocpp's log
// elsewhere. The default writes the line to stderr.
using Logger = std::function<void(std::string_view line)>;
void set_logger(Logger logger);
void log_error(std::string_view line);

}  // namespace aiocpp
