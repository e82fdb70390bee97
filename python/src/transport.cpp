// The transport types (transport.hpp): the methods that streams and pipes
// share, the shared ones, and the types' creation.

#include "transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <structmember.h>
#include <sys/un.h>

#include <any>
#include <cstddef>
#include <cstring>
#include <vector>

#include "bytes_view.hpp"
#include "errors.hpp"
#include "protocol_bridge.hpp"
#include "runtime.hpp"
#include "write_cork.hpp"

namespace aiocpp::python {

PyRef address_to_python(const SocketAddress& address) {
  if (address.empty()) return PyRef::borrow(Py_None);
  if (address.family() == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address.data());
    return PyRef::steal(Py_BuildValue("(siII)", address.host().c_str(), address.port(),
                                      ntohl(in6->sin6_flowinfo), in6->sin6_scope_id));
  }
  if (address.family() == AF_UNIX)
    return PyRef::steal(PyUnicode_DecodeFSDefault(address.host().c_str()));
  return PyRef::steal(Py_BuildValue("(si)", address.host().c_str(), address.port()));
}

namespace {
PyTypeObject* transport_types[static_cast<int>(TransportKind::count)];
}

bool address_from_python(PyObject* address, SocketAddress* out) {
  try {
    if (PyUnicode_Check(address) || PyBytes_Check(address)) {
      PyRef path = PyRef::borrow(address);
      if (PyUnicode_Check(address)) {
        path = PyRef::steal(PyUnicode_EncodeFSDefault(address));
        if (!path) return false;
      }
      *out = SocketAddress::from_unix_path(
          std::string(PyBytes_AS_STRING(path.get()), PyBytes_GET_SIZE(path.get())));
      return true;
    }
    PyObject* host;
    int port;
    unsigned int flowinfo = 0, scope_id = 0;
    if (!PyTuple_Check(address) ||
        !PyArg_ParseTuple(address, "Ui|II", &host, &port, &flowinfo, &scope_id)) {
      PyErr_Clear();
      PyErr_Format(PyExc_TypeError, "invalid address: %R", address);
      return false;
    }
    *out = SocketAddress::from_ip(PyUnicode_AsUTF8(host), port);
    if (out->family() == AF_INET6) {
      auto* in6 = reinterpret_cast<sockaddr_in6*>(out->data());
      in6->sin6_flowinfo = htonl(flowinfo);
      in6->sin6_scope_id = scope_id;
    }
    return true;
  } catch (...) {
    set_python_error();
    return false;
  }
}

PyRef new_transport(PyLoop* loop, std::shared_ptr<BaseTransport> transport, TransportKind kind) {
  PyTypeObject* type = transport_types[static_cast<int>(kind)];
  auto* self = reinterpret_cast<PyTransport*>(type->tp_alloc(type, 0));
  if (!self) return {};
  BaseTransport* base = transport.get();
  new (&self->transport) std::shared_ptr<BaseTransport>(std::move(transport));
  self->reader = dynamic_cast<ReadTransport*>(base);
  self->writer = dynamic_cast<WriteTransport*>(base);
  self->datagram = dynamic_cast<DatagramTransport*>(base);
  Py_INCREF(loop);
  self->loop = loop;
  self->extra = nullptr;
  self->socket = nullptr;
  self->pipe = nullptr;
  self->peername = nullptr;
  self->sockname = nullptr;
  self->corked = nullptr;
  self->corked_size = 0;
  self->reading = false;
  return PyRef::steal(reinterpret_cast<PyObject*>(self));
}

namespace {

void close_socket_object(PyTransport* self) {
  if (!self->socket) return;
  // The TransportSocket wraps a duplicate of the descriptor: close it with
  // the connection, so that no descriptor outlives it.
  PyRef sock = PyRef::steal(PyObject_GetAttrString(self->socket, "_sock"));
  if (sock) {
    PyRef done = PyRef::steal(PyObject_CallMethod(sock.get(), "close", nullptr));
  }
  PyErr_Clear();
}

}  // namespace

void transport_lost(PyObject* object) {
  auto* self = reinterpret_cast<PyTransport*>(object);
  drop_corked(self);
  close_socket_object(self);
  if (self->pipe) {  // the caller's file object, owned by the transport as in asyncio
    PyRef done = PyRef::steal(PyObject_CallMethod(self->pipe, "close", nullptr));
    PyErr_Clear();
  }
}

namespace {

PyObject* transport_write(PyTransport* self, PyObject* data) {
  if (self->reader && self->writer && cork(self, data)) Py_RETURN_NONE;
  flush_corked(self);  // what was kept goes first
  BytesView bytes;
  if (!bytes.get(data)) return nullptr;
  if (bytes.view().empty()) Py_RETURN_NONE;
  try {
    self->writer->write(bytes.view());
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

PyObject* transport_writelines(PyTransport* self, PyObject* lines) {
  PyRef items = PyRef::steal(PySequence_Fast(lines, "writelines() argument must be iterable"));
  if (!items) return nullptr;
  Py_ssize_t n = PySequence_Fast_GET_SIZE(items.get());
  std::vector<BytesView> views(static_cast<std::size_t>(n));
  std::vector<std::string_view> chunks;
  chunks.reserve(static_cast<std::size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!views[i].get(PySequence_Fast_GET_ITEM(items.get(), i))) return nullptr;
    chunks.push_back(views[i].view());
  }
  flush_corked(self);
  return call_native([&] { self->writer->writelines(chunks); });
}

PyObject* transport_abort(PyTransport* self, PyObject*) {
  // asyncio's write() would have handed it to send() already: only what the
  // kernel does not take is discarded.
  flush_corked(self);
  return call_native([&] { self->writer->abort(); });
}
PyObject* transport_write_eof(PyTransport* self, PyObject*) {
  flush_corked(self);
  return call_native([&] { self->writer->write_eof(); });
}
PyObject* transport_pause_reading(PyTransport* self, PyObject*) {
  return call_native([&] { self->reader->pause_reading(); });
}
PyObject* transport_resume_reading(PyTransport* self, PyObject*) {
  return call_native([&] { self->reader->resume_reading(); });
}
PyObject* transport_is_reading(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->reader->is_reading());
}
PyObject* transport_can_write_eof(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->writer->can_write_eof());
}
PyObject* transport_get_write_buffer_size(PyTransport* self, PyObject*) {
  flush_corked(self);  // so that the size is what asyncio's would be
  return PyLong_FromSize_t(self->writer->get_write_buffer_size());
}
PyObject* transport_get_write_buffer_limits(PyTransport* self, PyObject*) {
  auto [low, high] = self->writer->get_write_buffer_limits();
  return Py_BuildValue("(nn)", static_cast<Py_ssize_t>(low), static_cast<Py_ssize_t>(high));
}
PyObject* transport_set_write_buffer_limits(PyTransport* self, PyObject* args, PyObject* kwargs) {
  std::size_t high, low;
  if (!parse_write_buffer_limits(args, kwargs, &high, &low)) return nullptr;
  flush_corked(self);
  return call_native([&] { self->writer->set_write_buffer_limits(high, low); });
}

}  // namespace

bool parse_write_buffer_limits(PyObject* args, PyObject* kwargs, std::size_t* high_out,
                               std::size_t* low_out) {
  // asyncio's arithmetic and message: high defaults to 64 KiB (or 4 * low),
  // low to high // 4.
  static const char* names[] = {"high", "low", nullptr};
  PyObject *high_obj = Py_None, *low_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:set_write_buffer_limits",
                                   const_cast<char**>(names), &high_obj, &low_obj)) {
    return false;
  }
  long long high, low;
  if (high_obj == Py_None) {
    if (low_obj == Py_None) {
      high = 64 * 1024;
    } else {
      low = PyLong_AsLongLong(low_obj);
      if (low == -1 && PyErr_Occurred()) return false;
      high = 4 * low;
    }
  } else {
    high = PyLong_AsLongLong(high_obj);
    if (high == -1 && PyErr_Occurred()) return false;
  }
  if (low_obj == Py_None) {
    low = high / 4;
  } else {
    low = PyLong_AsLongLong(low_obj);
    if (low == -1 && PyErr_Occurred()) return false;
  }
  if (!(high >= low && low >= 0)) {
    PyErr_Format(PyExc_ValueError, "high (%lld) must be >= low (%lld) must be >= 0", high, low);
    return false;
  }
  *high_out = static_cast<std::size_t>(high);
  *low_out = static_cast<std::size_t>(low);
  return true;
}

PyObject* transport_close(PyTransport* self, PyObject*) {
  flush_corked(self);  // close() sends what is buffered first
  return call_native([&] { self->transport->close(); });
}

PyObject* transport_is_closing(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->transport->is_closing());
}

PyObject* transport_get_protocol(PyTransport* self, PyObject*) {
  BridgeCore* bridge = bridge_of(self->transport->get_protocol());
  return Py_NewRef(bridge ? bridge->protocol() : Py_None);
}

PyObject* transport_set_protocol(PyTransport* self, PyObject* protocol) {
  std::shared_ptr<BaseProtocol> current = self->transport->get_protocol();
  BridgeCore* bridge = bridge_of(current);
  if (!bridge) Py_RETURN_NONE;  // not a Python protocol's transport
  try {
    if (self->reader && self->writer) {
      // A stream: Protocol <-> BufferedProtocol needs the other bridge (3.11's
      // sslproto is a BufferedProtocol put on a Protocol's transport by start_tls).
      int buffered = PyObject_IsInstance(protocol, runtime.buffered_protocol);
      if (buffered < 0) return nullptr;
      bool was_buffered = dynamic_cast<BufferedBridge*>(bridge) != nullptr;
      if (static_cast<bool>(buffered) != was_buffered) {
        std::shared_ptr<BaseProtocol> next = stream_bridge(self->loop, PyRef::borrow(protocol));
        bridge_of(next)->share_transport(*bridge);
        self->transport->set_protocol(std::move(next));
        Py_RETURN_NONE;
      }
    }
    bridge->set_python_protocol(PyRef::borrow(protocol));
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

namespace {

// Whether `name` is the interned string `known`. Equal interned strings are
// one object, so an interned name (every literal in Python code: aiohttp asks
// for "peername" and "sslcontext" on each request) is told by its address.
bool is_name(PyObject* name, PyObject* known) {
  if (name == known) return true;
  if (PyUnicode_CHECK_INTERNED(name)) return false;
  return PyUnicode_Compare(name, known) == 0;
}

// peername / sockname as asyncio gives them, made on first use and kept: a
// transport's addresses do not change. Py_None when it has none.
PyObject* cached_address(PyObject** slot, SocketAddress (BaseTransport::*address)() const,
                         BaseTransport& transport) {
  if (!*slot) *slot = address_to_python((transport.*address)()).release();
  return *slot;
}

// get_extra_info's (name, default=None), positional or by keyword, as
// PyArg_ParseTupleAndKeywords checks them (the calls with keywords only).
bool parse_extra_info(PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames, PyObject** name,
                      PyObject** default_value) {
  PyRef tuple = PyRef::steal(PyTuple_New(nargs));
  PyRef dict = PyRef::steal(PyDict_New());
  if (!tuple || !dict) return false;
  for (Py_ssize_t i = 0; i < nargs; ++i) PyTuple_SET_ITEM(tuple.get(), i, Py_NewRef(args[i]));
  for (Py_ssize_t i = 0; kwnames && i < PyTuple_GET_SIZE(kwnames); ++i) {
    if (PyDict_SetItem(dict.get(), PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0) {
      return false;
    }
  }
  // The objects stay alive past the temporaries: the caller's arguments hold them.
  static const char* names[] = {"name", "default", nullptr};
  return PyArg_ParseTupleAndKeywords(tuple.get(), dict.get(), "O|O:get_extra_info",
                                     const_cast<char**>(names), name, default_value);
}

}  // namespace

PyObject* transport_get_extra_info(PyTransport* self, PyObject* const* args, Py_ssize_t nargs,
                                   PyObject* kwnames) {
  PyObject *name, *default_value = Py_None;
  if (!kwnames && (nargs == 1 || nargs == 2)) {
    name = args[0];
    if (nargs == 2) default_value = args[1];
  } else if (!parse_extra_info(args, nargs, kwnames, &name, &default_value)) {
    return nullptr;
  }
  if (!PyUnicode_Check(name)) return Py_NewRef(default_value);
  PyObject* found = nullptr;
  if (is_name(name, runtime.str_peername)) {
    found = cached_address(&self->peername, &BaseTransport::peername, *self->transport);
  } else if (is_name(name, runtime.str_sockname)) {
    found = cached_address(&self->sockname, &BaseTransport::sockname, *self->transport);
  } else if (is_name(name, runtime.str_pipe)) {
    found = self->pipe;
  } else if (is_name(name, runtime.str_socket)) {
    if (!self->socket) {
      std::any sock = self->transport->get_extra_info("socket");
      const auto* ts = std::any_cast<TransportSocket>(&sock);
      if (!ts || ts->fileno() < 0) return Py_NewRef(default_value);
      self->socket = PyObject_CallFunction(runtime.transport_socket, "i", ts->fileno());
      if (!self->socket) return nullptr;
    }
    found = self->socket;
  } else {
    return Py_NewRef(default_value);
  }
  if (!found && PyErr_Occurred()) return nullptr;  // an address that did not convert
  return Py_NewRef(found && found != Py_None ? found : default_value);
}

PyObject* transport_set_socket(PyTransport* self, PyObject* sock) {
  // create_connection(sock=s) and friends: get_extra_info('socket') is the
  // caller's socket object, closed with the connection, as in asyncio.
  Py_XSETREF(self->socket, Py_NewRef(sock));
  Py_RETURN_NONE;
}

// _force_close(exc): abort, with `exc` as connection_lost's argument (asyncio's
// transports have it; 3.11's sslproto calls it on a fatal TLS error).
PyObject* transport_force_close(PyTransport* self, PyObject* exc) {
  if (BridgeCore* bridge = bridge_of(self->transport->get_protocol())) {
    if (exc != Py_None) bridge->force_close_with(PyRef::borrow(exc));
  }
  flush_corked(self);  // as abort()
  return call_native([&] {
    if (self->writer) {
      self->writer->abort();
    } else {
      self->transport->close();  // a read pipe: nothing buffered to drop
    }
  });
}

PyObject* transport_set_pipe(PyTransport* self, PyObject* pipe) {
  Py_XSETREF(self->pipe, Py_NewRef(pipe));
  Py_RETURN_NONE;
}

namespace {

PyObject* transport_repr(PyTransport* self) {
  std::any sock = self->transport->get_extra_info("socket");
  const auto* ts = std::any_cast<TransportSocket>(&sock);
  int fd = ts ? ts->fileno() : -1;
  const char* state = self->transport->is_closing() ? "closing" : "open";
  return PyUnicode_FromFormat("<%s fd=%d %s>", Py_TYPE(self)->tp_name, fd, state);
}

int transport_traverse(PyTransport* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->extra);
  Py_VISIT(self->loop);
  Py_VISIT(self->socket);
  Py_VISIT(self->pipe);
  Py_VISIT(self->peername);
  Py_VISIT(self->sockname);
  Py_VISIT(self->dict);
  Py_VISIT(self->corked);
  return 0;
}

int transport_clear(PyTransport* self) {
  Py_CLEAR(self->extra);
  Py_CLEAR(self->socket);
  Py_CLEAR(self->pipe);
  Py_CLEAR(self->peername);
  Py_CLEAR(self->sockname);
  Py_CLEAR(self->dict);
  Py_CLEAR(self->corked);
  return 0;
}

void transport_dealloc(PyTransport* self) {
  PyTypeObject* type = Py_TYPE(self);
  PyObject_GC_UnTrack(self);
  close_socket_object(self);
  transport_clear(self);
  self->transport.~shared_ptr();
  Py_CLEAR(self->loop);
  type->tp_free(self);
  Py_DECREF(type);
}

#define M AIOCPP_METHOD
#define BASE_METHODS                                                                              \
  M("close", transport_close, METH_NOARGS), M("is_closing", transport_is_closing, METH_NOARGS),   \
      M("get_protocol", transport_get_protocol, METH_NOARGS),                                     \
      M("set_protocol", transport_set_protocol, METH_O),                                          \
      M("get_extra_info", transport_get_extra_info, METH_FASTCALL | METH_KEYWORDS),               \
      M("_set_socket", transport_set_socket, METH_O), M("_set_pipe", transport_set_pipe, METH_O), \
      M("_force_close", transport_force_close, METH_O)
#define READ_METHODS                                              \
  M("pause_reading", transport_pause_reading, METH_NOARGS),       \
      M("resume_reading", transport_resume_reading, METH_NOARGS), \
      M("is_reading", transport_is_reading, METH_NOARGS)
#define WRITE_METHODS                                                                             \
  M("write", transport_write, METH_O), M("writelines", transport_writelines, METH_O),             \
      M("abort", transport_abort, METH_NOARGS), M("write_eof", transport_write_eof, METH_NOARGS), \
      M("can_write_eof", transport_can_write_eof, METH_NOARGS),                                   \
      M("get_write_buffer_size", transport_get_write_buffer_size, METH_NOARGS),                   \
      M("get_write_buffer_limits", transport_get_write_buffer_limits, METH_NOARGS),               \
      M("set_write_buffer_limits", transport_set_write_buffer_limits,                             \
        METH_VARARGS | METH_KEYWORDS)

PyMethodDef stream_methods[] = {BASE_METHODS, READ_METHODS, WRITE_METHODS, {}};
PyMethodDef read_pipe_methods[] = {BASE_METHODS, READ_METHODS, {}};
PyMethodDef write_pipe_methods[] = {BASE_METHODS, WRITE_METHODS, {}};

struct TypeInfo {
  const char* name;
  PyMethodDef* methods;
  PyObject** base;
  PyObject** second_base = nullptr;  // asyncio's datagram transports are Transports too
};

PyMemberDef transport_members[] = {
    {"__dictoffset__", T_PYSSIZET, offsetof(PyTransport, dict), READONLY, nullptr},
    {},
};

bool add_type(PyObject* module, TransportKind kind, const TypeInfo& info) {
  PyType_Slot slots[] = {
      {Py_tp_members, transport_members},
      {Py_tp_dealloc, reinterpret_cast<void*>(transport_dealloc)},
      {Py_tp_traverse, reinterpret_cast<void*>(transport_traverse)},
      {Py_tp_clear, reinterpret_cast<void*>(transport_clear)},
      {Py_tp_repr, reinterpret_cast<void*>(transport_repr)},
      {Py_tp_methods, info.methods},
      {0, nullptr},
  };
  // tp_name keeps pointing into the spec's name: a string literal.
  PyType_Spec spec = {info.name, sizeof(PyTransport), 0,
                      Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                      slots};
  auto* base = reinterpret_cast<PyTypeObject*>(*info.base);
  // Our struct must extend asyncio.BaseTransport's layout exactly (one slot).
  if (base->tp_basicsize != static_cast<Py_ssize_t>(offsetof(PyTransport, transport)) ||
      base->tp_dictoffset != 0 || base->tp_weaklistoffset != 0) {
    PyErr_Format(PyExc_ImportError, "asyncio.%s's layout is not the one aiocpp expects",
                 base->tp_name);
    return false;
  }
  PyRef bases = PyRef::steal(info.second_base ? PyTuple_Pack(2, *info.base, *info.second_base)
                                              : PyTuple_Pack(1, *info.base));
  if (!bases) return false;
  auto* type =
      reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &spec, bases.get()));
  if (!type) return false;
  transport_types[static_cast<int>(kind)] = type;
  const char* short_name = std::strrchr(info.name, '.') + 1;
  return PyModule_AddObjectRef(module, short_name, reinterpret_cast<PyObject*>(type)) == 0;
}

}  // namespace

bool add_transport_types(PyObject* module) {
  return add_type(module, TransportKind::stream,
                  {"aiocpp._native.Transport", stream_methods, &runtime.transport_base}) &&
         add_type(module, TransportKind::read_pipe,
                  {"aiocpp._native.ReadPipeTransport", read_pipe_methods,
                   &runtime.read_transport_base}) &&
         add_type(module, TransportKind::write_pipe,
                  {"aiocpp._native.WritePipeTransport", write_pipe_methods,
                   &runtime.write_transport_base}) &&
         add_type(module, TransportKind::datagram,
                  {"aiocpp._native.DatagramTransport", datagram_transport_methods,
                   &runtime.datagram_transport_base, &runtime.transport_base});
}

}  // namespace aiocpp::python
