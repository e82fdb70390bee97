#pragma once
// A C++ Task seen from Python as an asyncio.Future: the task runs on the C++
// loop, and its outcome completes the asyncio future (set_result with
// `convert(result)`, or set_exception with the translated exception).
// Cancelling the asyncio future cancels the task.

#include <utility>

#include "aiocpp/task.hpp"
#include "errors.hpp"
#include "loop.hpp"
#include "runtime.hpp"

namespace aiocpp::python {

// A Python callable (future) -> None that cancels `task` if `future` was cancelled.
PyRef make_task_canceller(Task<void> task);
// Completes `future` (if still pending) with a result or an exception.
void settle_future(PyObject* future, PyObject* result, PyObject* exception);

// A Python callable (future) -> None that cancels `pending` if `future` was cancelled.
PyRef make_future_canceller(Future<void> pending);

namespace bridge_detail {

// Completes the asyncio future `future` when `source` (a C++ Task or Future) is done.
template <class T, class Source, class Convert>
void settle_when_done(Source& source, PyRef future, Convert convert) {
  source.add_done_callback([future, convert = std::move(convert)](Future<T>& done) mutable {
    if (done.cancelled()) {
      PyRef ignored = PyRef::steal(PyObject_CallMethod(future.get(), "cancel", nullptr));
      PyErr_Clear();
      return;
    }
    if (std::exception_ptr error = done.exception()) {
      settle_future(future.get(), nullptr, to_python(error).get());
      return;
    }
    PyRef result;
    if constexpr (std::is_void_v<T>) {
      (void)convert;  // a void result has nothing to convert
      result = PyRef::borrow(Py_None);
    } else {
      result = convert(done.result());
    }
    if (!result) {
      settle_future(future.get(), nullptr, fetch_exception().get());
    } else {
      settle_future(future.get(), result.get(), nullptr);
    }
  });
}

inline PyObject* add_canceller(PyRef future, PyRef canceller) {
  if (!canceller) return nullptr;
  PyRef added = PyRef::steal(
      PyObject_CallMethodOneArg(future.get(), runtime.str_add_done_callback, canceller.get()));
  if (!added) return nullptr;
  return future.release();
}

}  // namespace bridge_detail

template <class T, class Convert>
PyObject* future_from_task(PyLoop* loop, Task<T> task, Convert convert) {
  PyRef future = PyRef::steal(
      PyObject_CallMethodNoArgs(reinterpret_cast<PyObject*>(loop), runtime.str_create_future));
  if (!future) return nullptr;
  try {
    (void)loop->loop->create_task(task);  // the task is also `task`, kept below
  } catch (...) {
    return set_python_error();
  }
  bridge_detail::settle_when_done<T>(task, future, std::move(convert));
  return bridge_detail::add_canceller(
      std::move(future),
      make_task_canceller(detail::Access::erased_task(detail::Access::task(task))));
}

// As future_from_task, for an operation the backend has already started (its
// first system call made at once, as asyncio's sock_* methods make it before
// their first await): `pending` is its C++ future.
template <class Convert>
PyObject* future_from_future(PyLoop* loop, Future<void> pending, Convert convert) {
  PyRef future = PyRef::steal(
      PyObject_CallMethodNoArgs(reinterpret_cast<PyObject*>(loop), runtime.str_create_future));
  if (!future) return nullptr;
  bridge_detail::settle_when_done<void>(pending, future, std::move(convert));
  return bridge_detail::add_canceller(std::move(future), make_future_canceller(pending));
}

}  // namespace aiocpp::python
