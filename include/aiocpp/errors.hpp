#pragma once
// asyncio's exceptions, in C++.
//
// CancelledError deliberately does not derive from std::exception, for the
// same reason asyncio made it a BaseException: a generic
// `catch (const std::exception&)` must not swallow a cancellation.

#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>  // ExceptionGroup

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

// Raised by StreamReader (aiocpp/streams.hpp) when EOF arrives before the
// expected bytes.
class IncompleteReadError : public std::runtime_error {
 public:
  // `expected` for readuntil(), which cannot know (asyncio's None).
  static constexpr std::size_t undefined = static_cast<std::size_t>(-1);
  IncompleteReadError(std::string partial, std::size_t expected)
      : std::runtime_error(
            std::to_string(partial.size()) + " bytes read on a total of " +
            (expected == undefined ? std::string("undefined") : std::to_string(expected)) +
            " expected bytes"),
        partial_(std::move(partial)),
        expected_(expected) {}
  const std::string& partial() const noexcept { return partial_; }
  std::size_t expected() const noexcept { return expected_; }

 private:
  std::string partial_;
  std::size_t expected_;
};

// Raised by StreamReader.readuntil() when the limit is reached first.
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& what, std::size_t consumed)
      : std::runtime_error(what), consumed_(consumed) {}
  std::size_t consumed() const noexcept { return consumed_; }

 private:
  std::size_t consumed_;
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

// --- Locks and task groups (issue 14) -------------------------------------------

namespace aiocpp {

// asyncio.BrokenBarrierError: a Barrier was aborted or reset while waiting.
class BrokenBarrierError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Python's ExceptionGroup as TaskGroup raises it: every failure of the
// group's tasks (and of its body), in the order they happened.
class ExceptionGroup : public std::runtime_error {
 public:
  ExceptionGroup(const std::string& message, std::vector<std::exception_ptr> exceptions)
      : std::runtime_error(message + " (" + std::to_string(exceptions.size()) + " sub-exception" +
                           (exceptions.size() == 1 ? "" : "s") + ")"),
        exceptions_(std::move(exceptions)) {}
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::vector<std::exception_ptr> exceptions_;
};

}  // namespace aiocpp
