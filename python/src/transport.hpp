#pragma once
// _native.Transport: a stream socket transport of the C++ loop as an
// asyncio.Transport. The type derives from asyncio.Transport itself (its
// layout starts with BaseTransport's one slot, `_extra`), so isinstance
// checks pass and asyncio's mixin methods apply.

#include <memory>

#include "aiocpp/transports.hpp"
#include "loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

class ProtocolBridge;

struct PyTransport {
  PyObject_HEAD PyObject*
      extra;  // asyncio.BaseTransport's `_extra` slot (unused: extra info is native)
  std::shared_ptr<Transport> transport;  // safe after connection_lost: calls do nothing
  PyLoop* loop;
  PyObject* socket;  // get_extra_info('socket'), made on first use; closed with the connection
};

extern PyTypeObject* transport_type;
bool add_transport_type(PyObject* module);

// A new Python transport for `transport`; null with an error set.
PyRef new_transport(PyLoop* loop, std::shared_ptr<Transport> transport);
// connection_lost has run: release what the Python side made of the socket.
void transport_lost(PyObject* transport);
// A Python tuple for an address, as the socket module gives them.
PyRef address_to_python(const SocketAddress& address);

}  // namespace aiocpp::python
