// Handle / TimerHandle, and running one: asyncio's Handle._run.

#include "handle.hpp"

#include <structmember.h>

#include "core/loop_impl.hpp"
#include "errors.hpp"
#include "runtime.hpp"

namespace aiocpp::python {

PyTypeObject* handle_type = nullptr;
PyTypeObject* timer_handle_type = nullptr;

namespace {

// Static (non-heap) types whose instances are never coroutines or coroutine
// functions, found by the slow check once: builtin methods, asyncio's task
// step wrapper... Their instances have no __dict__ to carry asyncio's
// `_is_coroutine` marker, so the answer depends on the type alone.
constexpr int known_types_size = 16;
PyTypeObject* known_types[known_types_size];
int known_types_count = 0;

bool is_coroutine_function(PyObject* function) {
  auto* code = reinterpret_cast<PyCodeObject*>(PyFunction_GET_CODE(function));
  return (code->co_flags & CO_COROUTINE) != 0;
}

}  // namespace

bool check_callback(PyObject* callback, const char* method) {
  // The common cases, decided here: plain functions and methods of them
  // (unless marked with asyncio's _is_coroutine, which needs the slow path),
  // builtins.
  PyObject* function = callback;
  if (PyMethod_Check(callback)) function = PyMethod_GET_FUNCTION(callback);
  if (PyFunction_Check(function)) {
    if (!is_coroutine_function(function)) {
      PyObject* dict = reinterpret_cast<PyFunctionObject*>(function)->func_dict;
      if (!dict || PyDict_GET_SIZE(dict) == 0) return true;
    }
  } else if (PyCFunction_Check(callback)) {
    return true;
  } else {
    PyTypeObject* type = Py_TYPE(callback);
    for (int i = 0; i < known_types_count; ++i) {
      if (known_types[i] == type) return true;
    }
  }
  PyRef result =
      PyRef::steal(PyObject_CallFunction(runtime.check_callback, "Os", callback, method));
  if (!result) return false;
  PyTypeObject* type = Py_TYPE(callback);
  if (!(type->tp_flags & Py_TPFLAGS_HEAPTYPE) && type->tp_dictoffset == 0 &&
      !PyMethod_Check(callback) && !PyFunction_Check(callback) &&
      known_types_count < known_types_size) {
    known_types[known_types_count++] = type;
  }
  return true;
}

PyHandle* new_handle(PyTypeObject* type, PyLoop* loop, PyObject* callback, PyObject* const* args,
                     Py_ssize_t nargs, PyObject* context) {
  PyRef ctx;
  if (!context || context == Py_None) {
    ctx = PyRef::steal(PyContext_CopyCurrent());
    if (!ctx) return nullptr;
  } else if (PyContext_CheckExact(context)) {
    ctx = PyRef::borrow(context);
  } else {
    PyErr_Format(PyExc_TypeError, "context must be a contextvars.Context, not %.100s",
                 Py_TYPE(context)->tp_name);
    return nullptr;
  }
  PyRef tuple = PyRef::steal(PyTuple_New(nargs));
  if (!tuple) return nullptr;
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    Py_INCREF(args[i]);
    PyTuple_SET_ITEM(tuple.get(), i, args[i]);
  }
  auto* h = PyObject_GC_New(PyHandle, type);
  if (!h) return nullptr;
  Py_INCREF(callback);
  h->callback = callback;
  h->args = tuple.release();
  h->context = ctx.release();
  Py_INCREF(loop);
  h->loop = loop;
  h->state = nullptr;
  h->when = 0;
  h->cancelled = false;
  h->watcher = false;
  h->weakreflist = nullptr;
  // Not tracked by the cycle collector yet: while the loop holds the handle
  // (pending, or an I/O watcher) it cannot be garbage, and what it refers to
  // counts as referenced from outside, which is true. Tracked, a ready queue
  // of 100,000 handles is traversed by every collection the allocations
  // trigger; that cost most of call_soon's time. ~HandleCall tracks a handle
  // that outlives the loop's hold, so a cycle through it is collected.
  return h;
}

namespace {

// Calls loop._log_slow_callback(handle, seconds) when `took` reaches the
// loop's slow_callback_duration (a plain attribute, as on asyncio's loops).
void report_if_slow(PyLoop* loop, PyHandle* h, double took) {
  PyObject* self = reinterpret_cast<PyObject*>(loop);
  PyObject *type, *value, *traceback;  // a KeyboardInterrupt on its way out stays
  PyErr_Fetch(&type, &value, &traceback);
  PyRef limit = PyRef::steal(PyObject_GetAttr(self, runtime.str_slow_callback_duration));
  double seconds = limit ? PyFloat_AsDouble(limit.get()) : -1.0;
  if (PyErr_Occurred()) {
    PyErr_WriteUnraisable(self);
  } else if (took >= seconds) {
    PyRef dt = PyRef::steal(PyFloat_FromDouble(took));
    PyObject* argv[] = {self, reinterpret_cast<PyObject*>(h), dt.get()};
    PyRef result =
        dt ? PyRef::steal(PyObject_VectorcallMethod(runtime.str_log_slow_callback, argv,
                                                    3 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr))
           : PyRef();
    if (!result) PyErr_WriteUnraisable(self);
  }
  PyErr_Restore(type, value, traceback);
}

}  // namespace

HandleCall::~HandleCall() {
  if (!handle_) return;
  handle_->state = nullptr;
  if (Py_REFCNT(handle_) > 1 && !PyObject_GC_IsTracked(reinterpret_cast<PyObject*>(handle_))) {
    PyObject_GC_Track(handle_);
  }
  Py_DECREF(handle_);
}

void HandleCall::operator()() {
  PyHandle* h = handle_;
  PyLoop* loop = h->loop;
  if (loop->pending_error) {
    // A KeyboardInterrupt is on its way out of run_forever: what was ready
    // after it runs in the next run, as asyncio leaves it in _ready. An I/O
    // watcher needs nothing: epoll reports the descriptor again.
    if (!h->watcher && h->state) {
      h->state->add_ref();
      detail::impl_of(*loop->loop).push_ready(h->state);
    }
    return;
  }
  if (!h->callback) return;
  if (!loop->loop->get_debug()) {
    run(h);
    return;
  }
  // Debug mode: asyncio's slow-callback warning, through asyncio's logger
  // (the Python layer formats and logs it; the C++ loop's own timing is off
  // for a Python loop, see loop_new).
  double start = loop->loop->time();
  run(h);
  report_if_slow(loop, h, loop->loop->time() - start);
}

void HandleCall::run(PyHandle* h) {
  PyLoop* loop = h->loop;
  // References of our own: the callback may cancel its own handle.
  PyRef callback = PyRef::borrow(h->callback);
  PyRef args = PyRef::borrow(h->args);
  PyRef context = PyRef::borrow(h->context);
  if (PyContext_Enter(context.get()) < 0) {
    PyObject* argv[] = {reinterpret_cast<PyObject*>(h)};
    callback_failed(loop, runtime.str_report_callback_error, argv, 1);
    return;
  }
  PyObject* result = PyObject_Vectorcall(callback.get(), &PyTuple_GET_ITEM(args.get(), 0),
                                         PyTuple_GET_SIZE(args.get()), nullptr);
  if (result) {
    Py_DECREF(result);
    if (PyContext_Exit(context.get()) == 0) return;
  } else {
    PyRef error = fetch_exception();
    PyContext_Exit(context.get());
    PyErr_Clear();
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.get())), error.get());
  }
  PyObject* argv[] = {reinterpret_cast<PyObject*>(h)};
  callback_failed(loop, runtime.str_report_callback_error, argv, 1);
}

namespace {

PyObject* handle_cancel(PyHandle* self, PyObject*) {
  if (self->cancelled) Py_RETURN_NONE;
  self->cancelled = true;
  if (self->state) {
    // Drops the HandleCall (and its reference to us) unless it is running.
    detail::Access::handle(detail::Ref<detail::HandleState>(self->state)).cancel();
  }
  Py_CLEAR(self->callback);
  Py_CLEAR(self->args);
  Py_RETURN_NONE;
}

PyObject* handle_cancelled(PyHandle* self, PyObject*) { return PyBool_FromLong(self->cancelled); }

PyObject* handle_when(PyHandle* self, PyObject*) { return PyFloat_FromDouble(self->when); }

PyObject* handle_get_context(PyHandle* self, PyObject*) { return Py_NewRef(self->context); }

// asyncio's private Handle._run, which some libraries and tests call.
PyObject* handle_run(PyHandle* self, PyObject*) {
  detail::HandleState* state = self->state;
  {
    HandleCall call(self);
    call();
  }
  self->state = state;  // that ~HandleCall must not forget the loop's own
  Py_RETURN_NONE;
}

PyObject* handle_repr(PyHandle* self) {
  const char* kind = Py_TYPE(self) == timer_handle_type ? "TimerHandle" : "Handle";
  if (self->cancelled) return PyUnicode_FromFormat("<%s cancelled>", kind);
  if (Py_TYPE(self) == timer_handle_type) {
    PyRef when = PyRef::steal(PyFloat_FromDouble(self->when));
    return PyUnicode_FromFormat("<%s when=%R %R%R>", kind, when.get(), self->callback, self->args);
  }
  return PyUnicode_FromFormat("<%s %R%R>", kind, self->callback, self->args);
}

int handle_traverse(PyHandle* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->callback);
  Py_VISIT(self->args);
  Py_VISIT(self->context);
  Py_VISIT(self->loop);
  return 0;
}

int handle_clear(PyHandle* self) {
  Py_CLEAR(self->callback);
  Py_CLEAR(self->args);
  Py_CLEAR(self->context);
  return 0;
}

void handle_dealloc(PyHandle* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);  // a no-op on a handle never tracked
  if (self->weakreflist) PyObject_ClearWeakRefs(reinterpret_cast<PyObject*>(self));
  handle_clear(self);
  Py_CLEAR(self->loop);
  PyObject_GC_Del(self);
  Py_DECREF(type);
}

// TimerHandles order by their time, as asyncio's do.
PyObject* timer_richcompare(PyObject* a, PyObject* b, int op) {
  if (!PyObject_TypeCheck(b, timer_handle_type)) Py_RETURN_NOTIMPLEMENTED;
  double x = reinterpret_cast<PyHandle*>(a)->when, y = reinterpret_cast<PyHandle*>(b)->when;
  if (op == Py_EQ || op == Py_NE) {
    bool same = a == b;
    return PyBool_FromLong(op == Py_EQ ? same : !same);
  }
  Py_RETURN_RICHCOMPARE(x, y, op);
}

Py_hash_t timer_hash(PyHandle* self) { return _Py_HashPointer(self); }

PyMethodDef handle_methods[] = {
    {"cancel", reinterpret_cast<PyCFunction>(handle_cancel), METH_NOARGS, nullptr},
    {"cancelled", reinterpret_cast<PyCFunction>(handle_cancelled), METH_NOARGS, nullptr},
    {"get_context", reinterpret_cast<PyCFunction>(handle_get_context), METH_NOARGS, nullptr},
    {"_run", reinterpret_cast<PyCFunction>(handle_run), METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyMethodDef timer_methods[] = {
    {"when", reinterpret_cast<PyCFunction>(handle_when), METH_NOARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyMemberDef handle_members[] = {
    {"_callback", T_OBJECT, offsetof(PyHandle, callback), READONLY, nullptr},
    {"_args", T_OBJECT, offsetof(PyHandle, args), READONLY, nullptr},
    {"_context", T_OBJECT, offsetof(PyHandle, context), READONLY, nullptr},
    {"_loop", T_OBJECT, offsetof(PyHandle, loop), READONLY, nullptr},
    {"_cancelled", T_BOOL, offsetof(PyHandle, cancelled), READONLY, nullptr},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(PyHandle, weakreflist), READONLY, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyType_Slot handle_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(handle_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(handle_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handle_clear)},
    {Py_tp_repr, reinterpret_cast<void*>(handle_repr)},
    {Py_tp_methods, handle_methods},
    {Py_tp_members, handle_members},
    {0, nullptr},
};

PyType_Spec handle_spec = {"aiocpp._native.Handle", sizeof(PyHandle), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE |
                               Py_TPFLAGS_DISALLOW_INSTANTIATION,
                           handle_slots};

PyType_Slot timer_slots[] = {
    {Py_tp_traverse, reinterpret_cast<void*>(handle_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(handle_clear)},
    {Py_tp_methods, timer_methods},
    {Py_tp_richcompare, reinterpret_cast<void*>(timer_richcompare)},
    {Py_tp_hash, reinterpret_cast<void*>(timer_hash)},
    {0, nullptr},
};

PyType_Spec timer_spec = {
    "aiocpp._native.TimerHandle", sizeof(PyHandle), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION, timer_slots};

}  // namespace

bool add_handle_types(PyObject* module) {
  handle_type =
      reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &handle_spec, nullptr));
  if (!handle_type) return false;
  timer_handle_type = reinterpret_cast<PyTypeObject*>(
      PyType_FromModuleAndSpec(module, &timer_spec, reinterpret_cast<PyObject*>(handle_type)));
  if (!timer_handle_type) return false;
  return PyModule_AddObjectRef(module, "Handle", reinterpret_cast<PyObject*>(handle_type)) == 0 &&
         PyModule_AddObjectRef(module, "TimerHandle",
                               reinterpret_cast<PyObject*>(timer_handle_type)) == 0;
}

}  // namespace aiocpp::python
