// The native halves of the sock_* methods and of sendfile: the C++ loop does
// the I/O (trying the call at once, waiting for readiness only when the
// kernel says it would block); aiocpp/_loop.py checks the arguments and
// makes socket objects of what comes back.

#include <memory>

#include "core/loop_impl.hpp"
#include "errors.hpp"
#include "future_bridge.hpp"
#include "posix/socket_ops.hpp"
#include "transport.hpp"
#include "write_cork.hpp"

namespace aiocpp::python {

namespace {

PyRef bytes_of(const std::string& data) {
  return PyRef::steal(PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size())));
}

// A writable buffer held for as long as the operation that fills it.
struct HeldBuffer {
  Py_buffer view{};
  bool held = false;
  ~HeldBuffer() {
    if (held) PyBuffer_Release(&view);
  }
  std::span<char> span() const {
    return {static_cast<char*>(view.buf), static_cast<std::size_t>(view.len)};
  }
};

std::shared_ptr<HeldBuffer> hold_writable(PyObject* buffer) {
  auto held = std::make_shared<HeldBuffer>();
  if (PyObject_GetBuffer(buffer, &held->view, PyBUF_WRITABLE) < 0) return nullptr;
  held->held = true;
  return held;
}

template <class F>
PyObject* run(PyLoop* self, F start) {
  if (!check_open(self)) return nullptr;
  try {
    return start();
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace

PyObject* loop_sock_recv_native(PyLoop* self, PyObject* args) {
  int fd;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "in", &fd, &n)) return nullptr;
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_recv(fd, static_cast<std::size_t>(n)),
                            [](std::string& data) { return bytes_of(data); });
  });
}

PyObject* loop_sock_recv_into_native(PyLoop* self, PyObject* args) {
  int fd;
  PyObject* buffer;
  if (!PyArg_ParseTuple(args, "iO", &fd, &buffer)) return nullptr;
  auto held = hold_writable(buffer);
  if (!held) return nullptr;
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_recv_into(fd, held->span()),
                            [held](std::size_t n) { return PyRef::steal(PyLong_FromSize_t(n)); });
  });
}

PyObject* loop_sock_recvfrom_native(PyLoop* self, PyObject* args) {
  int fd;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "in", &fd, &n)) return nullptr;
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_recvfrom(fd, static_cast<std::size_t>(n)),
                            [](std::pair<std::string, SocketAddress>& result) {
                              PyRef data = bytes_of(result.first);
                              PyRef address = address_to_python(result.second);
                              if (!data || !address) return PyRef();
                              return PyRef::steal(PyTuple_Pack(2, data.get(), address.get()));
                            });
  });
}

PyObject* loop_sock_recvfrom_into_native(PyLoop* self, PyObject* args) {
  int fd;
  PyObject* buffer;
  Py_ssize_t n;
  if (!PyArg_ParseTuple(args, "iOn", &fd, &buffer, &n)) return nullptr;
  auto held = hold_writable(buffer);
  if (!held) return nullptr;
  return run(self, [&] {
    return future_from_task(
        self, self->loop->sock_recvfrom_into(fd, held->span(), static_cast<std::size_t>(n)),
        [held](std::pair<std::size_t, SocketAddress>& result) {
          PyRef address = address_to_python(result.second);
          if (!address) return PyRef();
          return PyRef::steal(
              Py_BuildValue("(nO)", static_cast<Py_ssize_t>(result.first), address.get()));
        });
  });
}

PyObject* loop_sock_sendall_native(PyLoop* self, PyObject* args) {
  int fd;
  Py_buffer data;
  if (!PyArg_ParseTuple(args, "iy*", &fd, &data)) return nullptr;
  std::string copy(static_cast<const char*>(data.buf), static_cast<std::size_t>(data.len));
  PyBuffer_Release(&data);
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_sendall(fd, std::move(copy)),
                            [](auto&&...) { return PyRef(); });
  });
}

PyObject* loop_sock_sendto_native(PyLoop* self, PyObject* args) {
  int fd;
  Py_buffer data;
  PyObject* address_object;
  if (!PyArg_ParseTuple(args, "iy*O", &fd, &data, &address_object)) return nullptr;
  std::string copy(static_cast<const char*>(data.buf), static_cast<std::size_t>(data.len));
  PyBuffer_Release(&data);
  SocketAddress address;
  if (!address_from_python(address_object, &address)) return nullptr;
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_sendto(fd, std::move(copy), address),
                            [](std::size_t n) { return PyRef::steal(PyLong_FromSize_t(n)); });
  });
}

// _sock_connect_native(fd, address): a resolved address.
PyObject* loop_sock_connect_native(PyLoop* self, PyObject* args) {
  int fd;
  PyObject* address_object;
  if (!PyArg_ParseTuple(args, "iO", &fd, &address_object)) return nullptr;
  SocketAddress address;
  if (!address_from_python(address_object, &address)) return nullptr;
  // The backend calls connect() now, as asyncio does before sock_connect's
  // first await: a caller may accept() on the listener (blocking) right after
  // one iteration, and a task would not have made its first step yet.
  if (!detail::is_nonblocking(fd)) {
    return PyErr_Format(PyExc_ValueError, "the socket must be non-blocking");
  }
  return run(self, [&] {
    return future_from_future(self, detail::impl_of(*self->loop).backend->sock_connect(fd, address),
                              [](auto&&...) { return PyRef(); });
  });
}

// _sock_accept_native(fd) -> (new fd, address): aiocpp/_loop.py wraps the descriptor.
PyObject* loop_sock_accept_native(PyLoop* self, PyObject* args) {
  int fd;
  if (!PyArg_ParseTuple(args, "i", &fd)) return nullptr;
  return run(self, [&] {
    return future_from_task(
        self, self->loop->sock_accept(fd), [](std::pair<int, SocketAddress>& result) {
          PyRef address = address_to_python(result.second);
          if (!address) return PyRef();
          return PyRef::steal(Py_BuildValue("(iO)", result.first, address.get()));
        });
  });
}

namespace {

bool optional_count(PyObject* value, std::optional<std::size_t>* out) {
  if (value == Py_None) return true;
  Py_ssize_t count = PyLong_AsSsize_t(value);
  if (count == -1 && PyErr_Occurred()) return false;
  *out = static_cast<std::size_t>(count);
  return true;
}

PyRef size_of(std::size_t n) { return PyRef::steal(PyLong_FromSize_t(n)); }

}  // namespace

// _sock_sendfile_fd_native(fd, file_fd, offset, count, fallback)
PyObject* loop_sock_sendfile_native(PyLoop* self, PyObject* args) {
  int fd, file;
  long long offset;
  PyObject* count_object;
  int fallback;
  if (!PyArg_ParseTuple(args, "iiLOp", &fd, &file, &offset, &count_object, &fallback)) {
    return nullptr;
  }
  std::optional<std::size_t> count;
  if (!optional_count(count_object, &count)) return nullptr;
  return run(self, [&] {
    return future_from_task(self, self->loop->sock_sendfile(fd, file, offset, count, fallback != 0),
                            size_of);
  });
}

// _sendfile_fd_native(transport, file_fd, offset, count, fallback): the
// transport is a native stream transport (checked by the caller).
PyObject* loop_sendfile_native(PyLoop* self, PyObject* args) {
  PyObject* transport_object;
  int file;
  long long offset;
  PyObject* count_object;
  int fallback;
  if (!PyArg_ParseTuple(args, "OiLOp", &transport_object, &file, &offset, &count_object,
                        &fallback)) {
    return nullptr;
  }
  std::optional<std::size_t> count;
  if (!optional_count(count_object, &count)) return nullptr;
  auto* py_transport = reinterpret_cast<PyTransport*>(transport_object);
  flush_corked(py_transport);  // the file follows what was written before
  auto transport = std::dynamic_pointer_cast<Transport>(py_transport->transport);
  if (!transport) return PyErr_Format(PyExc_TypeError, "not a stream transport");
  return run(self, [&] {
    return future_from_task(
        self, self->loop->sendfile(std::move(transport), file, offset, count, fallback != 0),
        size_of);
  });
}

}  // namespace aiocpp::python
