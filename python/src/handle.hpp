#pragma once
// Handle and TimerHandle (asyncio.Handle, asyncio.TimerHandle), native. A
// handle holds the callback, its arguments and its context; the C++ loop's
// HandleState holds the handle (through HandleCall) until it has run or was
// cancelled, so a handle nobody keeps still runs.

#include "aiocpp/handle.hpp"
#include "loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

struct PyHandle {
  PyObject_HEAD PyObject* callback;  // null once cancelled
  PyObject* args;                    // a tuple; null once cancelled
  PyObject* context;                 // a contextvars.Context
  PyLoop* loop;
  // The C++ loop's side, valid while a HandleCall holds this handle (until
  // it has run or was cancelled); null after.
  detail::HandleState* state;
  double when;  // TimerHandle only
  bool cancelled;
  bool watcher;  // add_reader / add_writer: runs on every readiness
  PyObject* weakreflist;
};

extern PyTypeObject* handle_type;
extern PyTypeObject* timer_handle_type;
bool add_handle_types(PyObject* module);

// A new handle for callback(*args) in `context` (None: a copy of the current
// one). Null with a Python error set on failure.
PyHandle* new_handle(PyTypeObject* type, PyLoop* loop, PyObject* callback, PyObject* const* args,
                     Py_ssize_t nargs, PyObject* context);

// The C++ callback: runs the handle. Owns one reference to it; moving leaves
// the source empty (so SmallFunction keeps it inline).
class HandleCall {
 public:
  explicit HandleCall(PyHandle* handle) noexcept : handle_(handle) { Py_INCREF(handle); }
  HandleCall(HandleCall&& other) noexcept : handle_(other.handle_) { other.handle_ = nullptr; }
  HandleCall(const HandleCall&) = delete;
  HandleCall& operator=(const HandleCall&) = delete;
  HandleCall& operator=(HandleCall&&) = delete;
  ~HandleCall();
  void operator()();

 private:
  static void run(PyHandle* handle);  // asyncio's Handle._run

  PyHandle* handle_;
};

// asyncio's _check_callback: TypeError for a coroutine (function) or a
// non-callable. Returns false with the error set.
bool check_callback(PyObject* callback, const char* method);

}  // namespace aiocpp::python
