#pragma once
// The C++ loop's transports as asyncio's transport ABCs. One object layout
// (PyTransport) under four Python types, each deriving from the asyncio ABC
// it stands for (their layout is BaseTransport's one slot, `_extra`), so
// isinstance checks pass and asyncio's mixin methods apply:
//
// clang-format off
//   _native.Transport          asyncio.Transport          TCP and unix streams
//   _native.ReadPipeTransport  asyncio.ReadTransport      connect_read_pipe (a child's stdout, stderr)
//   _native.WritePipeTransport asyncio.WriteTransport     connect_write_pipe (a child's stdin)
//   _native.DatagramTransport  asyncio.DatagramTransport  create_datagram_endpoint
// clang-format on
//
// Subprocesses are asyncio's own transport over the pipe types (aiocpp/_pipes.py).

#include <memory>

#include "aiocpp/transports.hpp"
#include "errors.hpp"
#include "loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

enum class TransportKind { stream, read_pipe, write_pipe, datagram, count };

struct PyTransport {
  PyObject_HEAD PyObject*
      extra;  // asyncio.BaseTransport's `_extra` slot (unused: extra info is native)
  std::shared_ptr<BaseTransport> transport;  // safe after connection_lost: calls do nothing
  // The same transport seen through the interface its kind has (null otherwise).
  ReadTransport* reader;
  WriteTransport* writer;
  DatagramTransport* datagram;
  PyLoop* loop;
  PyObject* socket;  // get_extra_info('socket'), made on first use; closed with the connection
  PyObject*
      pipe;  // connect_*_pipe's file object: get_extra_info('pipe'), closed with the connection
  // get_extra_info('peername') and ('sockname'), made on first use (None: none).
  PyObject* peername;
  PyObject* sockname;
  // Instance attributes, as asyncio's Python transports take them (code and
  // tests wrap a transport's methods: transport.pause_reading = Mock()).
  PyObject* dict;
  // Writes kept to be sent together (write_cork.hpp): null, one bytes or a
  // list of bytes, and their total size.
  PyObject* corked;
  Py_ssize_t corked_size;
  // Inside its own protocol's data_received / buffer_updated
  // (ReadCallbackCork): its writes are sent when that call returns.
  bool reading;
};

bool add_transport_types(PyObject* module);

// A new Python transport of `kind` for `transport`; null with an error set.
PyRef new_transport(PyLoop* loop, std::shared_ptr<BaseTransport> transport, TransportKind kind);
// connection_lost has run: release what the Python side made of the socket.
void transport_lost(PyObject* transport);
// A Python tuple for an address, as the socket module gives them.
PyRef address_to_python(const SocketAddress& address);
// The other way: (host, port[, flowinfo, scope_id]) with a numeric host, or a
// unix path (str or bytes). False with a Python error set.
bool address_from_python(PyObject* address, SocketAddress* out);

// The methods every kind shares, and the per-kind tables (transport.cpp,
// datagram_transport.cpp).
PyObject* transport_close(PyTransport* self, PyObject*);
PyObject* transport_is_closing(PyTransport* self, PyObject*);
PyObject* transport_get_protocol(PyTransport* self, PyObject*);
PyObject* transport_set_protocol(PyTransport* self, PyObject* protocol);
PyObject* transport_get_extra_info(PyTransport* self, PyObject* const* args, Py_ssize_t nargs,
                                   PyObject* kwnames);
PyObject* transport_set_socket(PyTransport* self, PyObject* sock);
PyObject* transport_set_pipe(PyTransport* self, PyObject* pipe);
// set_write_buffer_limits(high=None, low=None)'s arguments, checked as asyncio does.
bool parse_write_buffer_limits(PyObject* args, PyObject* kwargs, std::size_t* high,
                               std::size_t* low);
extern PyMethodDef datagram_transport_methods[];

// Runs `f`, turning a C++ exception into the Python one; returns None.
template <class F>
PyObject* call_native(F f) {
  try {
    f();
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

#define AIOCPP_METHOD(name, f, flags) \
  { name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f)), flags, nullptr }

}  // namespace aiocpp::python
