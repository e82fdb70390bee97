// _native.Loop: creating the C++ loop, running it with the GIL released while
// it waits, and asyncio's scheduling methods.

#include "loop.hpp"

#include <structmember.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <thread>

#include "core/loop_impl.hpp"
#include "errors.hpp"
#include "exception_bridge.hpp"
#include "handle.hpp"
#include "read_bytes.hpp"
#include "runtime.hpp"
#include "write_cork.hpp"

namespace aiocpp::python {

PyTypeObject* loop_type = nullptr;

void escape(PyLoop* loop, PyRef exception) {
  if (!loop->pending_error) loop->pending_error = exception.release();
  loop->loop->stop();
}

void callback_failed(PyLoop* loop, PyObject* reporter, PyObject* const* args, Py_ssize_t nargs) {
  PyRef error = fetch_exception();
  if (is_exit_exception(error.get())) {
    escape(loop, std::move(error));
    return;
  }
  PyObject* argv[8];
  argv[0] = reinterpret_cast<PyObject*>(loop);
  for (Py_ssize_t i = 0; i < nargs && i < 6; ++i) argv[i + 1] = args[i];
  argv[nargs + 1] = error.get();
  PyRef result = PyRef::steal(
      PyObject_VectorcallMethod(reporter, argv, static_cast<size_t>(nargs + 2), nullptr));
  if (result) return;
  // The handler itself failed: as asyncio, a KeyboardInterrupt from it
  // escapes too; anything else has nowhere left to go.
  PyRef failure = fetch_exception();
  if (is_exit_exception(failure.get())) {
    escape(loop, std::move(failure));
  } else {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(failure.get())), failure.get());
    PyErr_WriteUnraisable(reinterpret_cast<PyObject*>(loop));
  }
}

namespace {

// --- The GIL around the wait in the kernel (IoBackend::BlockingWaitHooks) ----------
void release_gil(void* arg) {
  auto* self = static_cast<PyLoop*>(arg);
  self->released = PyEval_SaveThread();
}

void acquire_gil(void* arg) {
  auto* self = static_cast<PyLoop*>(arg);
  PyEval_RestoreThread(self->released);
  self->released = nullptr;
  // A signal that interrupted the wait: Python's handler runs now (asyncio's
  // select() would run it, and what it raises leaves run_forever).
  if (PyErr_CheckSignals() < 0) escape(self, fetch_exception());
}

PyObject* loop_new(PyTypeObject* type, PyObject*, PyObject*) {
  auto* self = reinterpret_cast<PyLoop*>(type->tp_alloc(type, 0));
  if (!self) return nullptr;
  new (&self->loop) std::shared_ptr<EventLoop>();
  self->pending_error = nullptr;
  self->released = nullptr;
  self->spare_bytes = nullptr;
  self->spare_capacity = 0;
  new (&self->corking_thread) std::thread::id();
  try {
    self->corked = new std::vector<PyObject*>();
    // Always the selector: on io_uring the Python suites do not pass yet
    // (python/README.md), so AIOCPP_BACKEND is not followed here.
    LoopOptions options;
    options.backend = Backend::selector;
    self->loop = new_event_loop(options);
  } catch (...) {
    Py_DECREF(self);
    return set_python_error();
  }
  detail::LoopImpl& impl = detail::impl_of(*self->loop);
  impl.backend->set_blocking_wait_hooks({release_gil, acquire_gil, self});
  impl.before_poll = [](void* loop) { flush_loop_corked(static_cast<PyLoop*>(loop)); };
  impl.before_poll_arg = self;
  // Slow callbacks are timed by HandleCall and logged through asyncio's
  // logger, with the Python loop's slow_callback_duration; the C++ loop's
  // own report (its logger, its threshold) would say it a second time.
  self->loop->set_slow_callback_duration(std::numeric_limits<double>::infinity());
  install_exception_bridge(self);
  return reinterpret_cast<PyObject*>(self);
}

void loop_dealloc(PyLoop* self) {
  PyTypeObject* type = Py_TYPE(self);
  // A loop with callbacks still queued is never freed (they hold it), so
  // what is left to close here holds no Python object of ours.
  if (self->loop) {
    try {
      if (!self->loop->is_closed() && !self->loop->is_running()) self->loop->close();
    } catch (...) {
    }
  }
  self->loop.~shared_ptr();
  if (self->corked) {
    for (PyObject* transport : *self->corked) Py_DECREF(transport);
    delete self->corked;
  }
  Py_CLEAR(self->pending_error);
  drop_spare_bytes(self);
  type->tp_free(self);
  Py_DECREF(type);
}

bool check_thread(PyLoop* self) {
  if (!self->loop->get_debug()) return true;
  try {
    detail::impl_of(*self->loop).check_thread();
    return true;
  } catch (...) {
    set_python_error();
    return false;
  }
}

// A keyword's name is "context". Asyncio's C futures pass `context=` with
// every callback they schedule, a name that is not interned (so no pointer
// comparison): compared here as the ASCII bytes, at a tenth of the cost of
// PyUnicode_CompareWithASCIIString.
bool is_context_keyword(PyObject* name) {
  constexpr char keyword[] = "context";
  constexpr Py_ssize_t length = sizeof(keyword) - 1;
  return PyUnicode_CheckExact(name) && PyUnicode_IS_ASCII(name) &&
         PyUnicode_GET_LENGTH(name) == length &&
         std::memcmp(PyUnicode_DATA(name), keyword, length) == 0;
}

// The keyword arguments of the call_* methods: only `context`.
bool parse_context(const char* method, PyObject* kwnames, PyObject* const* kwvalues,
                   PyObject** context) {
  *context = nullptr;
  if (!kwnames) return true;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(kwnames); ++i) {
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (!is_context_keyword(name) &&
        (!PyUnicode_Check(name) || PyUnicode_CompareWithASCIIString(name, "context") != 0)) {
      PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%S'", method, name);
      return false;
    }
    *context = kwvalues[i];
  }
  return true;
}

PyObject* schedule_soon(PyLoop* self, PyObject* const* args, Py_ssize_t nargs, PyObject* context,
                        const char* method, bool check) {
  if (!check_open(self) || !check_thread(self)) return nullptr;
  if (check && !check_callback(args[0], method)) return nullptr;
  PyRef handle = PyRef::steal(reinterpret_cast<PyObject*>(
      new_handle(handle_type, self, args[0], args + 1, nargs - 1, context)));
  if (!handle) return nullptr;
  auto* h = reinterpret_cast<PyHandle*>(handle.get());
  try {
    h->state = detail::Access::state(self->loop->call_soon(HandleCall(h)));
  } catch (...) {
    return set_python_error();
  }
  return handle.release();
}

PyObject* loop_call_soon(PyLoop* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* context;
  if (!parse_context("call_soon", kwnames, args + nargs, &context)) return nullptr;
  if (nargs < 1) {
    PyErr_SetString(PyExc_TypeError,
                    "call_soon() missing 1 required positional argument: 'callback'");
    return nullptr;
  }
  return schedule_soon(self, args, nargs, context, "call_soon", true);
}

PyObject* loop_call_soon_threadsafe(PyLoop* self, PyObject* const* args, Py_ssize_t nargs,
                                    PyObject* kwnames) {
  PyObject* context;
  if (!parse_context("call_soon_threadsafe", kwnames, args + nargs, &context)) return nullptr;
  if (nargs < 1) {
    PyErr_SetString(PyExc_TypeError,
                    "call_soon_threadsafe() missing 1 required positional argument: 'callback'");
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  bool debug = self->loop->get_debug();
  if (debug && !check_callback(args[0], "call_soon_threadsafe")) return nullptr;
  // On the loop's own thread (or while it is not running: no other thread is
  // inside it, since we hold the GIL), the callback joins the ready queue in
  // order, as in asyncio's single queue. From another thread it goes through
  // the C++ loop's thread-safe queue, which wakes the loop.
  auto& impl = detail::impl_of(*self->loop);
  if (!self->loop->is_running() || impl.thread_id == std::this_thread::get_id()) {
    return schedule_soon(self, args, nargs, context, "call_soon_threadsafe", false);
  }
  PyRef handle = PyRef::steal(reinterpret_cast<PyObject*>(
      new_handle(handle_type, self, args[0], args + 1, nargs - 1, context)));
  if (!handle) return nullptr;
  auto* h = reinterpret_cast<PyHandle*>(handle.get());
  try {
    // Not kept: the loop's thread runs and releases the state, and a
    // threadsafe handle's cancel() is as unsafe as asyncio's.
    self->loop->call_soon_threadsafe(HandleCall(h));
  } catch (...) {
    return set_python_error();
  }
  return handle.release();
}

PyObject* schedule_at(PyLoop* self, double when, PyObject* const* args, Py_ssize_t nargs,
                      PyObject* context) {
  if (!check_open(self) || !check_thread(self)) return nullptr;
  if (!check_callback(args[0], "call_at")) return nullptr;
  PyRef handle = PyRef::steal(reinterpret_cast<PyObject*>(
      new_handle(timer_handle_type, self, args[0], args + 1, nargs - 1, context)));
  if (!handle) return nullptr;
  auto* h = reinterpret_cast<PyHandle*>(handle.get());
  h->when = when;
  try {
    h->state = detail::Access::state(self->loop->call_at(when, HandleCall(h)));
  } catch (...) {
    return set_python_error();
  }
  return handle.release();
}

PyObject* loop_call_later(PyLoop* self, PyObject* const* args, Py_ssize_t nargs,
                          PyObject* kwnames) {
  PyObject* context;
  if (!parse_context("call_later", kwnames, args + nargs, &context)) return nullptr;
  if (nargs < 2) {
    PyErr_SetString(PyExc_TypeError,
                    "call_later() missing required positional arguments: 'delay' and 'callback'");
    return nullptr;
  }
  if (args[0] == Py_None) {
    PyErr_SetString(PyExc_TypeError, "delay must not be None");
    return nullptr;
  }
  double delay = PyFloat_AsDouble(args[0]);
  if (delay == -1.0 && PyErr_Occurred()) return nullptr;
  return schedule_at(self, self->loop->time() + delay, args + 1, nargs - 1, context);
}

PyObject* loop_call_at(PyLoop* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  PyObject* context;
  if (!parse_context("call_at", kwnames, args + nargs, &context)) return nullptr;
  if (nargs < 2) {
    PyErr_SetString(PyExc_TypeError,
                    "call_at() missing required positional arguments: 'when' and 'callback'");
    return nullptr;
  }
  if (args[0] == Py_None) {
    PyErr_SetString(PyExc_TypeError, "when cannot be None");
    return nullptr;
  }
  double when = PyFloat_AsDouble(args[0]);
  if (when == -1.0 && PyErr_Occurred()) return nullptr;
  return schedule_at(self, when, args + 1, nargs - 1, context);
}

PyObject* loop_time(PyLoop* self, PyObject*) { return PyFloat_FromDouble(self->loop->time()); }

// asyncio.Future(loop=self), as asyncio's create_future, without a Python
// frame in between: asyncio's StreamReader makes one per read it waits for.
PyObject* loop_create_future(PyLoop* self, PyObject*) {
  PyObject* args[] = {reinterpret_cast<PyObject*>(self)};
  return PyObject_Vectorcall(runtime.future_type, args, 0, runtime.kwnames_loop);
}

// create_task(coro, *, name=None, context=None) as asyncio's, without a
// Python frame in between when no task factory is set and debug mode is off
// (aiohttp starts a task per request): asyncio.Task(coro, loop=self,
// name=name, context=context). Anything else (a task factory, debug mode's
// traceback trimming, arguments that do not fit) goes to
// aiocpp.Loop._create_task, in Python, which raises asyncio's errors.
PyObject* loop_create_task(PyLoop* self, PyObject* const* args, Py_ssize_t nargs,
                           PyObject* kwnames) {
  PyObject* task_args[] = {nullptr, reinterpret_cast<PyObject*>(self), Py_None, Py_None};
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  bool direct = nargs == 1 && !self->loop->get_debug();
  for (Py_ssize_t i = 0; direct && i < nkw; ++i) {
    // Interned names only: a keyword spelled in the caller's code is.
    PyObject* name = PyTuple_GET_ITEM(kwnames, i);
    if (name == runtime.str_name) {
      task_args[2] = args[nargs + i];
    } else if (name == runtime.str_context) {
      task_args[3] = args[nargs + i];
    } else {
      direct = false;
    }
  }
  if (direct) {
    if (!check_open(self)) return nullptr;
    PyRef factory =
        PyRef::steal(PyObject_GetAttr(reinterpret_cast<PyObject*>(self), runtime.str_task_factory));
    if (!factory) return nullptr;
    direct = factory.get() == Py_None;
  }
  if (direct) {
    task_args[0] = args[0];
    return PyObject_Vectorcall(runtime.task_type, task_args, 1, runtime.kwnames_task);
  }
  std::vector<PyObject*> call(static_cast<std::size_t>(nargs + nkw + 1));
  call[0] = reinterpret_cast<PyObject*>(self);
  std::copy(args, args + nargs + nkw, call.begin() + 1);
  return PyObject_VectorcallMethod(runtime.str_create_task_slow, call.data(),
                                   static_cast<std::size_t>(nargs + 1), kwnames);
}

PyObject* loop_stop(PyLoop* self, PyObject*) {
  self->loop->stop();
  Py_RETURN_NONE;
}

PyObject* loop_is_running(PyLoop* self, PyObject*) {
  return PyBool_FromLong(self->loop->is_running());
}

PyObject* loop_is_closed(PyLoop* self, PyObject*) {
  return PyBool_FromLong(self->loop->is_closed());
}

PyObject* loop_get_debug(PyLoop* self, PyObject*) {
  return PyBool_FromLong(self->loop->get_debug());
}

PyObject* loop_set_debug_native(PyLoop* self, PyObject* enabled) {
  int on = PyObject_IsTrue(enabled);
  if (on < 0) return nullptr;
  self->loop->set_debug(on);
  Py_RETURN_NONE;
}

// The body of run_forever; aiocpp.Loop.run_forever does asyncio's set-up
// around it (running loop, async generator hooks).
PyObject* loop_run_forever_native(PyLoop* self, PyObject*) {
  self->corking_thread = std::this_thread::get_id();
  try {
    self->loop->run_forever();
  } catch (...) {
    self->corking_thread = std::thread::id();
    flush_loop_corked(self);
    return set_python_error();
  }
  // The loop will not wait again before the next run: what was kept goes now.
  self->corking_thread = std::thread::id();
  flush_loop_corked(self);
  if (self->pending_error) {
    PyObject* error = self->pending_error;
    self->pending_error = nullptr;
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error)), error);
    Py_DECREF(error);
    return nullptr;
  }
  Py_RETURN_NONE;
}

PyObject* loop_close_native(PyLoop* self, PyObject*) {
  flush_loop_corked(self);
  try {
    self->loop->close();
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

// --- add_reader / add_writer ------------------------------------------------------
// A descriptor, or asyncio's ValueError("Invalid file object: ...") (selectors' rule).
int watched_fd(PyObject* fileobj) {
  int fd = PyObject_AsFileDescriptor(fileobj);
  if (fd < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) {
    PyErr_Clear();
    PyErr_Format(PyExc_ValueError, "Invalid file object: %R", fileobj);
  }
  return fd;
}

PyObject* watch(PyLoop* self, PyObject* const* args, Py_ssize_t nargs, bool writer) {
  const char* method = writer ? "add_writer" : "add_reader";
  if (nargs < 2) {
    PyErr_Format(PyExc_TypeError, "%s() missing required positional arguments: 'fd' and 'callback'",
                 method);
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  int fd = watched_fd(args[0]);
  if (fd < 0) return nullptr;
  if (!check_callback(args[1], method)) return nullptr;
  PyRef handle = PyRef::steal(reinterpret_cast<PyObject*>(
      new_handle(handle_type, self, args[1], args + 2, nargs - 2, nullptr)));
  if (!handle) return nullptr;
  auto* h = reinterpret_cast<PyHandle*>(handle.get());
  h->watcher = true;
  try {
    if (writer) {
      self->loop->add_writer(fd, HandleCall(h));
    } else {
      self->loop->add_reader(fd, HandleCall(h));
    }
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

PyObject* loop_add_reader(PyLoop* self, PyObject* const* args, Py_ssize_t nargs) {
  return watch(self, args, nargs, false);
}

PyObject* loop_add_writer(PyLoop* self, PyObject* const* args, Py_ssize_t nargs) {
  return watch(self, args, nargs, true);
}

PyObject* unwatch(PyLoop* self, PyObject* fileobj, bool writer) {
  if (self->loop->is_closed()) Py_RETURN_FALSE;
  int fd = watched_fd(fileobj);
  if (fd < 0) return nullptr;
  try {
    bool removed = writer ? self->loop->remove_writer(fd) : self->loop->remove_reader(fd);
    return PyBool_FromLong(removed);
  } catch (...) {
    return set_python_error();
  }
}

PyObject* loop_remove_reader(PyLoop* self, PyObject* fd) { return unwatch(self, fd, false); }
PyObject* loop_remove_writer(PyLoop* self, PyObject* fd) { return unwatch(self, fd, true); }

}  // namespace

// The native halves of the I/O methods (tcp_methods.cpp, unix_methods.cpp,
// datagram_methods.cpp, pipe_methods.cpp, sock_methods.cpp).
PyObject* loop_create_server_native(PyLoop* self, PyObject* args);
PyObject* loop_create_connection_native(PyLoop* self, PyObject* args);
PyObject* loop_create_unix_server_native(PyLoop* self, PyObject* args);
PyObject* loop_create_unix_connection_native(PyLoop* self, PyObject* args);
PyObject* loop_connect_accepted_socket_native(PyLoop* self, PyObject* args);
PyObject* loop_create_datagram_endpoint_native(PyLoop* self, PyObject* args);
PyObject* loop_connect_pipe_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_recv_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_recv_into_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_recvfrom_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_recvfrom_into_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_sendall_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_sendto_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_connect_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_accept_native(PyLoop* self, PyObject* args);
PyObject* loop_sock_sendfile_native(PyLoop* self, PyObject* args);
PyObject* loop_sendfile_native(PyLoop* self, PyObject* args);

namespace {

#define FASTCALL_KW(f) \
  reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f)), METH_FASTCALL | METH_KEYWORDS
#define FASTCALL(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f)), METH_FASTCALL
#define NOARGS(f) reinterpret_cast<PyCFunction>(f), METH_NOARGS
#define ONEARG(f) reinterpret_cast<PyCFunction>(f), METH_O
#define VARARGS(f) reinterpret_cast<PyCFunction>(f), METH_VARARGS

PyMethodDef loop_methods[] = {
    {"call_soon", FASTCALL_KW(loop_call_soon), nullptr},
    {"call_soon_threadsafe", FASTCALL_KW(loop_call_soon_threadsafe), nullptr},
    {"call_later", FASTCALL_KW(loop_call_later), nullptr},
    {"call_at", FASTCALL_KW(loop_call_at), nullptr},
    {"time", NOARGS(loop_time), nullptr},
    {"create_future", NOARGS(loop_create_future), nullptr},
    {"create_task", FASTCALL_KW(loop_create_task), nullptr},
    {"stop", NOARGS(loop_stop), nullptr},
    {"is_running", NOARGS(loop_is_running), nullptr},
    {"is_closed", NOARGS(loop_is_closed), nullptr},
    {"get_debug", NOARGS(loop_get_debug), nullptr},
    {"_set_debug_native", ONEARG(loop_set_debug_native), nullptr},
    {"_run_forever_native", NOARGS(loop_run_forever_native), nullptr},
    {"_close_native", NOARGS(loop_close_native), nullptr},
    {"add_reader", FASTCALL(loop_add_reader), nullptr},
    {"add_writer", FASTCALL(loop_add_writer), nullptr},
    {"remove_reader", ONEARG(loop_remove_reader), nullptr},
    {"remove_writer", ONEARG(loop_remove_writer), nullptr},
    {"_create_server_native", VARARGS(loop_create_server_native), nullptr},
    {"_create_connection_native", VARARGS(loop_create_connection_native), nullptr},
    {"_create_unix_server_native", VARARGS(loop_create_unix_server_native), nullptr},
    {"_create_unix_connection_native", VARARGS(loop_create_unix_connection_native), nullptr},
    {"_connect_accepted_socket_native", VARARGS(loop_connect_accepted_socket_native), nullptr},
    {"_create_datagram_endpoint_native", VARARGS(loop_create_datagram_endpoint_native), nullptr},
    {"_connect_pipe_native", VARARGS(loop_connect_pipe_native), nullptr},
    {"_sock_recv_native", VARARGS(loop_sock_recv_native), nullptr},
    {"_sock_recv_into_native", VARARGS(loop_sock_recv_into_native), nullptr},
    {"_sock_recvfrom_native", VARARGS(loop_sock_recvfrom_native), nullptr},
    {"_sock_recvfrom_into_native", VARARGS(loop_sock_recvfrom_into_native), nullptr},
    {"_sock_sendall_native", VARARGS(loop_sock_sendall_native), nullptr},
    {"_sock_sendto_native", VARARGS(loop_sock_sendto_native), nullptr},
    {"_sock_connect_native", VARARGS(loop_sock_connect_native), nullptr},
    {"_sock_accept_native", VARARGS(loop_sock_accept_native), nullptr},
    {"_sock_sendfile_fd_native", VARARGS(loop_sock_sendfile_native), nullptr},
    {"_sendfile_fd_native", VARARGS(loop_sendfile_native), nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot loop_slots[] = {
    {Py_tp_new, reinterpret_cast<void*>(loop_new)},
    {Py_tp_dealloc, reinterpret_cast<void*>(loop_dealloc)},
    {Py_tp_methods, loop_methods},
    {0, nullptr},
};

PyType_Spec loop_spec = {"aiocpp._native.Loop", sizeof(PyLoop), 0,
                         Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, loop_slots};

}  // namespace

bool add_loop_type(PyObject* module) {
  loop_type =
      reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &loop_spec, nullptr));
  if (!loop_type) return false;
  return PyModule_AddObjectRef(module, "Loop", reinterpret_cast<PyObject*>(loop_type)) == 0;
}

}  // namespace aiocpp::python
