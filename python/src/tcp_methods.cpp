// The native halves of Loop.create_server and Loop.create_connection: the
// Python layer (aiocpp/_loop.py) checks the arguments in asyncio's order and
// with its messages, then calls these with plain values.

#include "errors.hpp"
#include "future_bridge.hpp"
#include "method_helpers.hpp"
#include "protocol_bridge.hpp"
#include "server.hpp"

namespace aiocpp::python {

// _create_server_native(factory, hosts, port, family, flags, sock, backlog,
//                       reuse_address, reuse_port, start_serving)
// hosts: None (all interfaces) or a list of str. sock: a descriptor the
// server takes over, or -1.
PyObject* loop_create_server_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *hosts, *reuse_address, *reuse_port;
  int port, family, flags, sock, backlog, start_serving;
  if (!PyArg_ParseTuple(args, "OOiiiiiOOp", &factory, &hosts, &port, &family, &flags, &sock,
                        &backlog, &reuse_address, &reuse_port, &start_serving)) {
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  ServerOptions options;
  options.family = family;
  options.flags = flags;
  options.sock = sock;
  options.backlog = backlog;
  options.start_serving = start_serving != 0;
  if (!optional_bool(reuse_address, &options.reuse_address) ||
      !optional_bool(reuse_port, &options.reuse_port)) {
    return nullptr;
  }
  std::vector<std::string> host_list;
  if (hosts != Py_None) {
    PyRef items = PyRef::steal(PySequence_Fast(hosts, "hosts must be a list"));
    if (!items) return nullptr;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items.get()); ++i) {
      std::string host;
      if (!string_of(PySequence_Fast_GET_ITEM(items.get(), i), &host)) return nullptr;
      host_list.push_back(std::move(host));
    }
  }
  auto convert = [self](std::shared_ptr<Server>& server) { return new_server(self, server); };
  try {
    ProtocolFactory cpp_factory = make_protocol_factory(self, factory);
    if (sock >= 0) {
      return future_from_task(self, self->loop->create_server(std::move(cpp_factory), options),
                              convert);
    }
    return future_from_task(
        self,
        self->loop->create_server(std::move(cpp_factory), std::move(host_list), port, options),
        convert);
  } catch (...) {
    return set_python_error();
  }
}

// _create_connection_native(factory, host, port, family, proto, flags, sock,
//                           local_addr, happy_eyeballs_delay, interleave)
// host: str, or None with a connected socket's descriptor in sock (taken over).
PyObject* loop_create_connection_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *host, *local_addr, *delay, *interleave;
  int port, family, proto, flags, sock;
  if (!PyArg_ParseTuple(args, "OOiiiiiOOO", &factory, &host, &port, &family, &proto, &flags, &sock,
                        &local_addr, &delay, &interleave)) {
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  ConnectionOptions options;
  options.family = family;
  options.proto = proto;
  options.flags = flags;
  options.sock = sock;
  if (local_addr != Py_None) {
    PyObject* local_host;
    int local_port;
    if (!PyArg_ParseTuple(local_addr, "Oi", &local_host, &local_port)) return nullptr;
    std::string text;
    if (local_host != Py_None && !string_of(local_host, &text)) return nullptr;
    options.local_addr = std::pair{text, local_port};
  }
  if (delay != Py_None) {
    double seconds = PyFloat_AsDouble(delay);
    if (seconds == -1.0 && PyErr_Occurred()) return nullptr;
    options.happy_eyeballs_delay = seconds;
  }
  if (interleave != Py_None) {
    long count = PyLong_AsLong(interleave);
    if (count == -1 && PyErr_Occurred()) return nullptr;
    options.interleave = static_cast<int>(count);
  }
  std::string host_name;
  if (host != Py_None && !string_of(host, &host_name)) return nullptr;
  try {
    ProtocolFactory cpp_factory = make_protocol_factory(self, factory);
    if (host == Py_None) {
      return future_from_task(self, self->loop->create_connection(std::move(cpp_factory), options),
                              transport_and_protocol);
    }
    return future_from_task(
        self, self->loop->create_connection(std::move(cpp_factory), host_name, port, options),
        transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace aiocpp::python
