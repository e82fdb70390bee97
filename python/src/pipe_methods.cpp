// The native half of connect_read_pipe and connect_write_pipe
// (aiocpp/_pipes.py hands over a duplicate of the pipe's descriptor).

#include "errors.hpp"
#include "future_bridge.hpp"
#include "method_helpers.hpp"
#include "protocol_bridge.hpp"

namespace aiocpp::python {

// _connect_pipe_native(factory, fd, write): fd is taken over by the transport.
PyObject* loop_connect_pipe_native(PyLoop* self, PyObject* args) {
  PyObject* factory;
  int fd, write;
  if (!PyArg_ParseTuple(args, "Oip", &factory, &fd, &write)) return nullptr;
  if (!check_open(self)) return nullptr;
  try {
    auto cpp_factory = make_bridge_factory<ProtocolBridge>(self, factory);
    if (write) {
      return future_from_task(self, self->loop->connect_write_pipe(std::move(cpp_factory), fd),
                              transport_and_protocol);
    }
    return future_from_task(self, self->loop->connect_read_pipe(std::move(cpp_factory), fd),
                            transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace aiocpp::python
