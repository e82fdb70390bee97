// _native.SubprocessTransport's own methods (asyncio.SubprocessTransport),
// and _wait(), which asyncio.subprocess.Process.wait() awaits.

#include "future_bridge.hpp"
#include "transport.hpp"

namespace aiocpp::python {

namespace {

PyObject* subprocess_get_pid(PyTransport* self, PyObject*) {
  return PyLong_FromLong(self->process->get_pid());
}

PyObject* subprocess_get_returncode(PyTransport* self, PyObject*) {
  std::optional<int> code = self->process->get_returncode();
  if (!code) Py_RETURN_NONE;
  return PyLong_FromLong(*code);
}

// The same Python transport for a pipe each time, as asyncio's.
PyObject* subprocess_get_pipe_transport(PyTransport* self, PyObject* fd_object) {
  long fd = PyLong_AsLong(fd_object);
  if (fd == -1 && PyErr_Occurred()) return nullptr;
  if (!self->pipes) {
    self->pipes = PyDict_New();
    if (!self->pipes) return nullptr;
  }
  if (PyObject* known = PyDict_GetItemWithError(self->pipes, fd_object)) return Py_NewRef(known);
  if (PyErr_Occurred()) return nullptr;
  std::shared_ptr<BaseTransport> pipe;
  try {
    pipe = self->process->get_pipe_transport(static_cast<int>(fd));
  } catch (...) {
    return set_python_error();
  }
  if (!pipe) Py_RETURN_NONE;
  PyRef transport = new_transport(self->loop, std::move(pipe),
                                  fd == 0 ? TransportKind::write_pipe : TransportKind::read_pipe);
  if (!transport || PyDict_SetItem(self->pipes, fd_object, transport.get()) < 0) return nullptr;
  return transport.release();
}

PyObject* subprocess_send_signal(PyTransport* self, PyObject* signal_object) {
  long sig = PyLong_AsLong(signal_object);
  if (sig == -1 && PyErr_Occurred()) return nullptr;
  return call_native([&] { self->process->send_signal(static_cast<int>(sig)); });
}

PyObject* subprocess_terminate(PyTransport* self, PyObject*) {
  return call_native([&] { self->process->terminate(); });
}

PyObject* subprocess_kill(PyTransport* self, PyObject*) {
  return call_native([&] { self->process->kill(); });
}

Task<int> exit_status(Future<int> waiter) { co_return co_await waiter; }

// An asyncio future of the return code, set once the child has exited and
// its pipes are closed.
PyObject* subprocess_wait(PyTransport* self, PyObject*) {
  if (!check_open(self->loop)) return nullptr;
  try {
    return future_from_task(self->loop, exit_status(self->process->wait()),
                            [](int code) { return PyRef::steal(PyLong_FromLong(code)); });
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace

#define M AIOCPP_METHOD
PyMethodDef subprocess_transport_methods[] = {
    M("close", transport_close, METH_NOARGS),
    M("is_closing", transport_is_closing, METH_NOARGS),
    M("get_protocol", transport_get_protocol, METH_NOARGS),
    M("set_protocol", transport_set_protocol, METH_O),
    M("get_extra_info", transport_get_extra_info, METH_VARARGS | METH_KEYWORDS),
    M("get_pid", subprocess_get_pid, METH_NOARGS),
    M("get_returncode", subprocess_get_returncode, METH_NOARGS),
    M("get_pipe_transport", subprocess_get_pipe_transport, METH_O),
    M("send_signal", subprocess_send_signal, METH_O),
    M("terminate", subprocess_terminate, METH_NOARGS),
    M("kill", subprocess_kill, METH_NOARGS),
    M("_wait", subprocess_wait, METH_NOARGS),
    {},
};

}  // namespace aiocpp::python
