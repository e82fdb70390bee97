// _native.DatagramTransport's own methods (asyncio.DatagramTransport):
// sendto, abort, and the write buffer's size and limits.

#include "bytes_view.hpp"
#include "errors.hpp"
#include "transport.hpp"

namespace aiocpp::python {

namespace {

PyObject* datagram_sendto(PyTransport* self, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs < 1 || nargs > 2) {
    return PyErr_Format(PyExc_TypeError, "sendto() takes 1 or 2 arguments (%zd given)", nargs);
  }
  BytesView bytes;
  if (!bytes.get(args[0])) return nullptr;
  std::optional<SocketAddress> address;
  if (nargs == 2 && args[1] != Py_None) {
    SocketAddress parsed;
    if (!address_from_python(args[1], &parsed)) return nullptr;
    address = parsed;
  }
  return call_native([&] { self->datagram->sendto(bytes.view(), address); });
}

PyObject* datagram_abort(PyTransport* self, PyObject*) {
  return call_native([&] { self->datagram->abort(); });
}

PyObject* datagram_get_write_buffer_size(PyTransport* self, PyObject*) {
  return PyLong_FromSize_t(self->datagram->get_write_buffer_size());
}

PyObject* datagram_get_write_buffer_limits(PyTransport* self, PyObject*) {
  auto [low, high] = self->datagram->get_write_buffer_limits();
  return Py_BuildValue("(nn)", static_cast<Py_ssize_t>(low), static_cast<Py_ssize_t>(high));
}

PyObject* datagram_set_write_buffer_limits(PyTransport* self, PyObject* args, PyObject* kwargs) {
  std::size_t high, low;
  if (!parse_write_buffer_limits(args, kwargs, &high, &low)) return nullptr;
  return call_native([&] { self->datagram->set_write_buffer_limits(high, low); });
}

}  // namespace

#define M AIOCPP_METHOD
PyMethodDef datagram_transport_methods[] = {
    M("close", transport_close, METH_NOARGS),
    M("is_closing", transport_is_closing, METH_NOARGS),
    M("get_protocol", transport_get_protocol, METH_NOARGS),
    M("set_protocol", transport_set_protocol, METH_O),
    M("get_extra_info", transport_get_extra_info, METH_FASTCALL | METH_KEYWORDS),
    M("_set_socket", transport_set_socket, METH_O),
    M("sendto", datagram_sendto, METH_FASTCALL),
    M("abort", datagram_abort, METH_NOARGS),
    M("get_write_buffer_size", datagram_get_write_buffer_size, METH_NOARGS),
    M("get_write_buffer_limits", datagram_get_write_buffer_limits, METH_NOARGS),
    M("set_write_buffer_limits", datagram_set_write_buffer_limits, METH_VARARGS | METH_KEYWORDS),
    {},
};

}  // namespace aiocpp::python
