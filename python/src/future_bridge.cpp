#include "future_bridge.hpp"

namespace aiocpp::python {

namespace {

void free_task(PyObject* capsule) {
  delete static_cast<Task<void>*>(PyCapsule_GetPointer(capsule, "aiocpp.Task"));
}

PyObject* cancel_task(PyObject* capsule, PyObject* future) {
  PyRef cancelled = PyRef::steal(PyObject_CallMethodNoArgs(future, runtime.str_cancelled));
  if (!cancelled) return nullptr;
  if (cancelled.get() == Py_True) {
    auto* task = static_cast<Task<void>*>(PyCapsule_GetPointer(capsule, "aiocpp.Task"));
    if (task && !task->done()) task->cancel();
  }
  Py_RETURN_NONE;
}

PyMethodDef canceller_def = {"_cancel_cpp_task", cancel_task, METH_O, nullptr};

void free_future(PyObject* capsule) {
  delete static_cast<Future<void>*>(PyCapsule_GetPointer(capsule, "aiocpp.Future"));
}

PyObject* cancel_future(PyObject* capsule, PyObject* future) {
  PyRef cancelled = PyRef::steal(PyObject_CallMethodNoArgs(future, runtime.str_cancelled));
  if (!cancelled) return nullptr;
  if (cancelled.get() == Py_True) {
    auto* pending = static_cast<Future<void>*>(PyCapsule_GetPointer(capsule, "aiocpp.Future"));
    if (pending && !pending->done()) pending->cancel();
  }
  Py_RETURN_NONE;
}

PyMethodDef future_canceller_def = {"_cancel_cpp_future", cancel_future, METH_O, nullptr};

}  // namespace

PyRef make_task_canceller(Task<void> task) {
  PyRef capsule =
      PyRef::steal(PyCapsule_New(new Task<void>(std::move(task)), "aiocpp.Task", free_task));
  if (!capsule) return {};
  return PyRef::steal(PyCFunction_New(&canceller_def, capsule.get()));
}

PyRef make_future_canceller(Future<void> pending) {
  PyRef capsule = PyRef::steal(
      PyCapsule_New(new Future<void>(std::move(pending)), "aiocpp.Future", free_future));
  if (!capsule) return {};
  return PyRef::steal(PyCFunction_New(&future_canceller_def, capsule.get()));
}

void settle_future(PyObject* future, PyObject* result, PyObject* exception) {
  PyRef cancelled = PyRef::steal(PyObject_CallMethodNoArgs(future, runtime.str_cancelled));
  if (cancelled && cancelled.get() == Py_True) return;
  PyRef done = PyRef::steal(
      result ? PyObject_CallMethodOneArg(future, runtime.str_set_result, result)
             : PyObject_CallMethodOneArg(future, runtime.str_set_exception, exception));
  if (!done) PyErr_WriteUnraisable(future);
}

}  // namespace aiocpp::python
