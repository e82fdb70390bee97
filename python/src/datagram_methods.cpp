// The native half of create_datagram_endpoint (aiocpp/_loop.py checks the
// arguments in asyncio's order and with its messages first).

#include "errors.hpp"
#include "future_bridge.hpp"
#include "method_helpers.hpp"
#include "protocol_bridge.hpp"

namespace aiocpp::python {

namespace {

// (host, port) or None.
bool host_port(PyObject* value, std::optional<std::pair<std::string, int>>* out) {
  if (value == Py_None) return true;
  PyObject* host;
  int port;
  if (!PyArg_ParseTuple(value, "Oi", &host, &port)) return false;
  std::string text;
  if (host != Py_None && !string_of(host, &text)) return false;
  *out = std::pair{text, port};
  return true;
}

bool path_of(PyObject* value, std::optional<std::string>* out) {
  if (value == Py_None) return true;
  std::string text;
  if (PyBytes_Check(value)) {
    text.assign(PyBytes_AS_STRING(value), static_cast<std::size_t>(PyBytes_GET_SIZE(value)));
  } else if (!string_of(value, &text)) {
    return false;
  }
  *out = std::move(text);
  return true;
}

}  // namespace

// _create_datagram_endpoint_native(factory, local_addr, remote_addr,
//     local_path, remote_path, family, proto, flags, reuse_port,
//     allow_broadcast, sock): addresses as (host, port) or None, paths for
//     AF_UNIX, sock a descriptor taken over or -1.
PyObject* loop_create_datagram_endpoint_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *local_addr, *remote_addr, *local_path, *remote_path, *reuse_port,
      *allow_broadcast;
  int family, proto, flags, sock;
  if (!PyArg_ParseTuple(args, "OOOOOiiiOOi", &factory, &local_addr, &remote_addr, &local_path,
                        &remote_path, &family, &proto, &flags, &reuse_port, &allow_broadcast,
                        &sock)) {
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  DatagramEndpointOptions options;
  options.family = family;
  options.proto = proto;
  options.flags = flags;
  options.sock = sock;
  if (!host_port(local_addr, &options.local_addr) ||
      !host_port(remote_addr, &options.remote_addr) || !path_of(local_path, &options.local_path) ||
      !path_of(remote_path, &options.remote_path) ||
      !optional_bool(reuse_port, &options.reuse_port) ||
      !optional_bool(allow_broadcast, &options.allow_broadcast)) {
    return nullptr;
  }
  try {
    auto cpp_factory = make_bridge_factory<DatagramBridge>(self, factory);
    return future_from_task(
        self, self->loop->create_datagram_endpoint(std::move(cpp_factory), std::move(options)),
        transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace aiocpp::python
