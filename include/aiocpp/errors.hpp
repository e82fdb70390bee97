#pragma once
// asyncio's exceptions, in C++.
//
// CancelledError deliberately does not derive from std::exception, for the
// same reason asyncio made it a BaseException: a generic
// `catch (const std::exception&)` must not swallow a cancellation.

#include <stdexcept>
#include <string>
#include <system_error>

namespace aiocpp {

class CancelledError {
 public:
  CancelledError() = default;
  explicit CancelledError(std::string message) : message_(std::move(message)) {}
  // The message given to cancel(msg); empty when none was given.
  const std::string& message() const noexcept { return message_; }
  const char* what() const noexcept {
    return message_.empty() ? "CancelledError" : message_.c_str();
  }

 private:
  std::string message_;
};

// What aiocpp::run throws when Ctrl-C (SIGINT) cancelled its main task, as
// asyncio.run raises KeyboardInterrupt. Not a std::exception, like CancelledError.
class KeyboardInterrupt {
 public:
  const char* what() const noexcept { return "KeyboardInterrupt"; }
};

// asyncio.TimeoutError (an alias of the builtin TimeoutError since 3.11).
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("TimeoutError: the operation did not finish in time") {}
  explicit TimeoutError(const std::string& what) : std::runtime_error(what) {}
};

// A future's result read before it was set, or set twice.
class InvalidStateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// sock_sendfile / sendfile without `fallback`, when the kernel's sendfile
// cannot serve the file or socket.
class SendfileNotAvailableError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Python's RuntimeError and ValueError map onto the standard library's.
using RuntimeError = std::runtime_error;
using ValueError = std::invalid_argument;

// Python's TypeError: an object of the wrong kind (a protocol a transport
// cannot drive). An invalid_argument, but not a ValueError to catch by type.
class TypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

}  // namespace aiocpp
