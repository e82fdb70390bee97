#pragma once
// _native.Loop: the C++ EventLoop under a Python object. aiocpp.Loop (in
// aiocpp/_loop.py) derives from it and from asyncio.AbstractEventLoop, and
// writes in Python what is not on a hot path (run_until_complete, the
// exception handler, executors, async generators).

#include <memory>
#include <thread>
#include <vector>

#include "aiocpp/event_loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

struct PyLoop {
  PyObject_HEAD std::shared_ptr<EventLoop> loop;
  // A KeyboardInterrupt or SystemExit that a callback raised: the loop stops,
  // and run_forever raises it once the C++ loop has returned (asyncio lets
  // these two escape _run_once). Owned; null when none.
  PyObject* pending_error;
  PyThreadState* released;  // the GIL, while the loop waits in the kernel
  // Transports with writes kept to be sent together (write_cork.hpp), each
  // referenced; and the thread of run_forever while it runs, the only one
  // whose writes are kept.
  std::vector<PyObject*>* corked;
  std::thread::id corking_thread;
  // The last read's bytes object, nobody else's, for the next read to refill
  // (read_bytes.hpp); null when none. Owned.
  PyObject* spare_bytes;
  Py_ssize_t spare_capacity;
};

extern PyTypeObject* loop_type;
bool add_loop_type(PyObject* module);

// A callback of `loop` raised (the Python error is set): KeyboardInterrupt
// and SystemExit stop the loop and leave run_forever; any other exception
// goes to loop.<reporter>(*args, exc), a method of aiocpp.Loop that builds
// asyncio's context and calls call_exception_handler.
void callback_failed(PyLoop* loop, PyObject* reporter, PyObject* const* args, Py_ssize_t nargs);
// Keeps `exception` to be raised by run_forever, and stops the loop.
void escape(PyLoop* loop, PyRef exception);

inline bool check_open(PyLoop* loop) {
  if (!loop->loop->is_closed()) return true;
  PyErr_SetString(PyExc_RuntimeError, "Event loop is closed");
  return false;
}

}  // namespace aiocpp::python
