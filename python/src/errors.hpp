#pragma once
// Exceptions across the language boundary.
//
// Python -> C++: a Python exception raised by a protocol method travels
// through the C++ transport as a PyError (or a PyOSError, so that the
// transport treats an OSError as a connection failure and not as a bug, as
// asyncio's _fatal_error does), and comes back out as the same object.
// C++ -> Python: std::system_error becomes OSError (with the errno, so
// Python picks ConnectionRefusedError and friends), aiocpp's asyncio
// exceptions become asyncio's, ValueError / TypeError / RuntimeError theirs.

#include <exception>
#include <stdexcept>
#include <system_error>

#include "py_ref.hpp"

namespace aiocpp::python {

// Holds a Python exception instance; made and destroyed with the GIL held.
class PyError : public std::runtime_error {
 public:
  explicit PyError(PyRef exception)
      : std::runtime_error("Python exception"), exception_(std::move(exception)) {}
  const PyRef& exception() const noexcept { return exception_; }

 private:
  PyRef exception_;
};

class PyOSError : public std::system_error {
 public:
  PyOSError(int code, PyRef exception)
      : std::system_error(code, std::generic_category(), "Python OSError"),
        exception_(std::move(exception)) {}
  const PyRef& exception() const noexcept { return exception_; }

 private:
  PyRef exception_;
};

// Takes the exception being raised in Python (PyErr_Occurred) as an instance.
PyRef fetch_exception();
// Throws the exception being raised in Python as a PyError / PyOSError.
[[noreturn]] void throw_python_error();
// Throws `exception` (an instance) as a PyError / PyOSError.
[[noreturn]] void throw_python_error_object(PyRef exception);
// The Python exception for a C++ one (a new reference; never null).
PyRef to_python(const std::exception_ptr& error);
// In a catch (...) block: raises the current C++ exception in Python; returns
// null, for `return set_python_error();`.
PyObject* set_python_error();
// KeyboardInterrupt and SystemExit escape the loop; asyncio reports every
// other exception that a callback raises.
bool is_exit_exception(PyObject* exception);

}  // namespace aiocpp::python
