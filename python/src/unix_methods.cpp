// The native halves of create_unix_server, create_unix_connection and
// connect_accepted_socket (aiocpp/_loop.py checks the arguments first).

#include "errors.hpp"
#include "future_bridge.hpp"
#include "method_helpers.hpp"
#include "protocol_bridge.hpp"
#include "server.hpp"

namespace aiocpp::python {

// _create_unix_server_native(factory, path, sock, backlog, start_serving, cleanup)
// path: str or None (then sock, a listening descriptor the server takes over).
PyObject* loop_create_unix_server_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *path;
  int sock, backlog, start_serving, cleanup;
  if (!PyArg_ParseTuple(args, "OOiipp", &factory, &path, &sock, &backlog, &start_serving,
                        &cleanup)) {
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  UnixServerOptions options;
  options.sock = sock;
  options.backlog = backlog;
  options.start_serving = start_serving != 0;
  options.cleanup_socket = cleanup != 0;
  std::string path_text;
  if (path != Py_None && !string_of(path, &path_text)) return nullptr;
  auto convert = [self](std::shared_ptr<Server>& server) { return new_server(self, server); };
  try {
    ProtocolFactory cpp_factory = make_protocol_factory(self, factory);
    if (path == Py_None) {
      return future_from_task(self, self->loop->create_unix_server(std::move(cpp_factory), options),
                              convert);
    }
    return future_from_task(
        self, self->loop->create_unix_server(std::move(cpp_factory), path_text, options), convert);
  } catch (...) {
    return set_python_error();
  }
}

// _create_unix_connection_native(factory, path, sock): path, or None and a
// connected descriptor in sock (taken over).
PyObject* loop_create_unix_connection_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *path;
  int sock;
  if (!PyArg_ParseTuple(args, "OOi", &factory, &path, &sock)) return nullptr;
  if (!check_open(self)) return nullptr;
  std::string path_text;
  if (path != Py_None && !string_of(path, &path_text)) return nullptr;
  try {
    ProtocolFactory cpp_factory = make_protocol_factory(self, factory);
    if (path == Py_None) {
      return future_from_task(self,
                              self->loop->create_unix_connection(std::move(cpp_factory), sock),
                              transport_and_protocol);
    }
    return future_from_task(
        self, self->loop->create_unix_connection(std::move(cpp_factory), std::move(path_text)),
        transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

// _connect_accepted_socket_native(factory, sock): the descriptor is taken over.
PyObject* loop_connect_accepted_socket_native(PyLoop* self, PyObject* args) {
  PyObject* factory;
  int sock;
  if (!PyArg_ParseTuple(args, "Oi", &factory, &sock)) return nullptr;
  if (!check_open(self)) return nullptr;
  try {
    ProtocolFactory cpp_factory = make_protocol_factory(self, factory);
    return future_from_task(self, self->loop->connect_accepted_socket(std::move(cpp_factory), sock),
                            transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace aiocpp::python
