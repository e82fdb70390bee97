// _native.Transport: asyncio.Transport's methods on the C++ transport.

#include "transport.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <any>
#include <cstddef>
#include <vector>

#include "errors.hpp"
#include "protocol_bridge.hpp"
#include "runtime.hpp"

namespace aiocpp::python {

PyTypeObject* transport_type = nullptr;

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

PyRef new_transport(PyLoop* loop, std::shared_ptr<Transport> transport) {
  auto* self = reinterpret_cast<PyTransport*>(transport_type->tp_alloc(transport_type, 0));
  if (!self) return {};
  new (&self->transport) std::shared_ptr<Transport>(std::move(transport));
  Py_INCREF(loop);
  self->loop = loop;
  self->extra = nullptr;
  self->socket = nullptr;
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
  close_socket_object(reinterpret_cast<PyTransport*>(object));
}

namespace {

// The data of write(): bytes (the fast path), bytearray or memoryview, as asyncio accepts.
class BytesView {
 public:
  bool get(PyObject* data) {
    if (PyBytes_Check(data)) {
      view_ = std::string_view(PyBytes_AS_STRING(data),
                               static_cast<std::size_t>(PyBytes_GET_SIZE(data)));
      return true;
    }
    if (!PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
      PyErr_Format(PyExc_TypeError, "data argument must be a bytes-like object, not '%.100s'",
                   Py_TYPE(data)->tp_name);
      return false;
    }
    if (PyObject_GetBuffer(data, &buffer_, PyBUF_SIMPLE) < 0) return false;
    held_ = true;
    view_ = std::string_view(static_cast<const char*>(buffer_.buf),
                             static_cast<std::size_t>(buffer_.len));
    return true;
  }
  ~BytesView() {
    if (held_) PyBuffer_Release(&buffer_);
  }
  std::string_view view() const { return view_; }

 private:
  Py_buffer buffer_;
  bool held_ = false;
  std::string_view view_;
};

PyObject* transport_write(PyTransport* self, PyObject* data) {
  BytesView bytes;
  if (!bytes.get(data)) return nullptr;
  if (bytes.view().empty()) Py_RETURN_NONE;
  try {
    self->transport->write(bytes.view());
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
  try {
    self->transport->writelines(chunks);
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

template <class F>
PyObject* call(F f) {
  try {
    f();
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

PyObject* transport_close(PyTransport* self, PyObject*) {
  return call([&] { self->transport->close(); });
}
PyObject* transport_abort(PyTransport* self, PyObject*) {
  return call([&] { self->transport->abort(); });
}
PyObject* transport_write_eof(PyTransport* self, PyObject*) {
  return call([&] { self->transport->write_eof(); });
}
PyObject* transport_pause_reading(PyTransport* self, PyObject*) {
  return call([&] { self->transport->pause_reading(); });
}
PyObject* transport_resume_reading(PyTransport* self, PyObject*) {
  return call([&] { self->transport->resume_reading(); });
}
PyObject* transport_is_closing(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->transport->is_closing());
}
PyObject* transport_is_reading(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->transport->is_reading());
}
PyObject* transport_can_write_eof(PyTransport* self, PyObject*) {
  return PyBool_FromLong(self->transport->can_write_eof());
}
PyObject* transport_get_write_buffer_size(PyTransport* self, PyObject*) {
  return PyLong_FromSize_t(self->transport->get_write_buffer_size());
}
PyObject* transport_get_write_buffer_limits(PyTransport* self, PyObject*) {
  auto [low, high] = self->transport->get_write_buffer_limits();
  return Py_BuildValue("(nn)", static_cast<Py_ssize_t>(low), static_cast<Py_ssize_t>(high));
}

// asyncio's arithmetic and message: high defaults to 64 KiB (or 4 * low),
// low to high // 4.
PyObject* transport_set_write_buffer_limits(PyTransport* self, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"high", "low", nullptr};
  PyObject *high_obj = Py_None, *low_obj = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:set_write_buffer_limits",
                                   const_cast<char**>(names), &high_obj, &low_obj)) {
    return nullptr;
  }
  long long high, low;
  if (high_obj == Py_None) {
    if (low_obj == Py_None) {
      high = 64 * 1024;
    } else {
      low = PyLong_AsLongLong(low_obj);
      if (low == -1 && PyErr_Occurred()) return nullptr;
      high = 4 * low;
    }
  } else {
    high = PyLong_AsLongLong(high_obj);
    if (high == -1 && PyErr_Occurred()) return nullptr;
  }
  if (low_obj == Py_None) {
    low = high / 4;
  } else {
    low = PyLong_AsLongLong(low_obj);
    if (low == -1 && PyErr_Occurred()) return nullptr;
  }
  if (!(high >= low && low >= 0)) {
    return PyErr_Format(PyExc_ValueError, "high (%lld) must be >= low (%lld) must be >= 0", high,
                        low);
  }
  return call([&] {
    self->transport->set_write_buffer_limits(static_cast<std::size_t>(high),
                                             static_cast<std::size_t>(low));
  });
}

ProtocolBridge* bridge_of(PyTransport* self) {
  return dynamic_cast<ProtocolBridge*>(self->transport->get_protocol().get());
}

PyObject* transport_get_protocol(PyTransport* self, PyObject*) {
  ProtocolBridge* bridge = bridge_of(self);
  return Py_NewRef(bridge ? bridge->protocol() : Py_None);
}

PyObject* transport_set_protocol(PyTransport* self, PyObject* protocol) {
  if (ProtocolBridge* bridge = bridge_of(self)) bridge->set_protocol(PyRef::borrow(protocol));
  Py_RETURN_NONE;
}

PyObject* transport_get_extra_info(PyTransport* self, PyObject* args, PyObject* kwargs) {
  static const char* names[] = {"name", "default", nullptr};
  PyObject *name, *default_value = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:get_extra_info", const_cast<char**>(names),
                                   &name, &default_value)) {
    return nullptr;
  }
  if (PyUnicode_Check(name)) {
    if (PyUnicode_CompareWithASCIIString(name, "peername") == 0) {
      PyRef address = address_to_python(self->transport->peername());
      return address.get() == Py_None ? Py_NewRef(default_value) : address.release();
    }
    if (PyUnicode_CompareWithASCIIString(name, "sockname") == 0) {
      PyRef address = address_to_python(self->transport->sockname());
      return address.get() == Py_None ? Py_NewRef(default_value) : address.release();
    }
    if (PyUnicode_CompareWithASCIIString(name, "socket") == 0) {
      if (!self->socket) {
        std::any sock = self->transport->get_extra_info("socket");
        const auto* ts = std::any_cast<TransportSocket>(&sock);
        if (!ts || ts->fileno() < 0) return Py_NewRef(default_value);
        self->socket = PyObject_CallFunction(runtime.transport_socket, "i", ts->fileno());
        if (!self->socket) return nullptr;
      }
      return Py_NewRef(self->socket);
    }
  }
  return Py_NewRef(default_value);
}

PyObject* transport_repr(PyTransport* self) {
  std::any sock = self->transport->get_extra_info("socket");
  const auto* ts = std::any_cast<TransportSocket>(&sock);
  int fd = ts ? ts->fileno() : -1;
  const char* state = self->transport->is_closing() ? " closing" : "";
  return PyUnicode_FromFormat("<aiocpp.Transport%s fd=%d bufsize=%zd>", state, fd,
                              static_cast<Py_ssize_t>(self->transport->get_write_buffer_size()));
}

int transport_traverse(PyTransport* self, visitproc visit, void* arg) {
  Py_VISIT(Py_TYPE(self));
  Py_VISIT(self->extra);
  Py_VISIT(self->loop);
  Py_VISIT(self->socket);
  return 0;
}

int transport_clear(PyTransport* self) {
  Py_CLEAR(self->extra);
  Py_CLEAR(self->socket);
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

#define M(name, f, flags) \
  { name, reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f)), flags, nullptr }

PyMethodDef transport_methods[] = {
    M("write", transport_write, METH_O),
    M("writelines", transport_writelines, METH_O),
    M("close", transport_close, METH_NOARGS),
    M("abort", transport_abort, METH_NOARGS),
    M("is_closing", transport_is_closing, METH_NOARGS),
    M("write_eof", transport_write_eof, METH_NOARGS),
    M("can_write_eof", transport_can_write_eof, METH_NOARGS),
    M("pause_reading", transport_pause_reading, METH_NOARGS),
    M("resume_reading", transport_resume_reading, METH_NOARGS),
    M("is_reading", transport_is_reading, METH_NOARGS),
    M("get_write_buffer_size", transport_get_write_buffer_size, METH_NOARGS),
    M("get_write_buffer_limits", transport_get_write_buffer_limits, METH_NOARGS),
    M("set_write_buffer_limits", transport_set_write_buffer_limits, METH_VARARGS | METH_KEYWORDS),
    M("get_protocol", transport_get_protocol, METH_NOARGS),
    M("set_protocol", transport_set_protocol, METH_O),
    M("get_extra_info", transport_get_extra_info, METH_VARARGS | METH_KEYWORDS),
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot transport_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(transport_dealloc)},
    {Py_tp_traverse, reinterpret_cast<void*>(transport_traverse)},
    {Py_tp_clear, reinterpret_cast<void*>(transport_clear)},
    {Py_tp_repr, reinterpret_cast<void*>(transport_repr)},
    {Py_tp_methods, transport_methods},
    {0, nullptr},
};

PyType_Spec transport_spec = {
    "aiocpp._native.Transport", sizeof(PyTransport), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION, transport_slots};

}  // namespace

bool add_transport_type(PyObject* module) {
  auto* base = reinterpret_cast<PyTypeObject*>(runtime.transport_base);
  // Our struct must extend asyncio.BaseTransport's layout exactly (one slot).
  if (base->tp_basicsize != static_cast<Py_ssize_t>(offsetof(PyTransport, transport)) ||
      base->tp_dictoffset != 0 || base->tp_weaklistoffset != 0) {
    PyErr_SetString(PyExc_ImportError, "asyncio.Transport's layout is not the one aiocpp expects");
    return false;
  }
  transport_type = reinterpret_cast<PyTypeObject*>(
      PyType_FromModuleAndSpec(module, &transport_spec, runtime.transport_base));
  if (!transport_type) return false;
  return PyModule_AddObjectRef(module, "Transport", reinterpret_cast<PyObject*>(transport_type)) ==
         0;
}

}  // namespace aiocpp::python
