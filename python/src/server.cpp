#include "server.hpp"

#include "errors.hpp"
#include "future_bridge.hpp"

namespace aiocpp::python {

PyTypeObject* server_type = nullptr;

PyRef new_server(PyLoop* loop, std::shared_ptr<Server> server) {
  auto* self = PyObject_New(PyServer, server_type);
  if (!self) return {};
  new (&self->server) std::shared_ptr<Server>(std::move(server));
  Py_INCREF(loop);
  self->loop = loop;
  return PyRef::steal(reinterpret_cast<PyObject*>(self));
}

namespace {

void server_dealloc(PyServer* self) {
  PyTypeObject* type = Py_TYPE(self);
  self->server.~shared_ptr();
  Py_CLEAR(self->loop);
  PyObject_Free(self);
  Py_DECREF(type);
}

PyObject* server_close(PyServer* self, PyObject*) {
  try {
    self->server->close();
  } catch (...) {
    return set_python_error();
  }
  Py_RETURN_NONE;
}

PyObject* server_is_serving(PyServer* self, PyObject*) {
  return PyBool_FromLong(self->server->is_serving());
}

// The listening descriptors (the C++ server owns them).
PyObject* server_fds(PyServer* self, PyObject*) {
  auto sockets = self->server->sockets();
  PyRef list = PyRef::steal(PyList_New(static_cast<Py_ssize_t>(sockets.size())));
  if (!list) return nullptr;
  for (std::size_t i = 0; i < sockets.size(); ++i) {
    PyObject* fd = PyLong_FromLong(sockets[i].fileno());
    if (!fd) return nullptr;
    PyList_SET_ITEM(list.get(), static_cast<Py_ssize_t>(i), fd);
  }
  return list.release();
}

PyObject* server_start_serving(PyServer* self, PyObject*) {
  if (self->loop->loop->is_closed())
    return PyErr_Format(PyExc_RuntimeError, "Event loop is closed");
  try {
    return future_from_task(self->loop, self->server->start_serving(),
                            [](auto&&) { return PyRef(); });
  } catch (...) {
    return set_python_error();
  }
}

PyObject* server_wait_closed(PyServer* self, PyObject*) {
  try {
    return future_from_task(self->loop, self->server->wait_closed(),
                            [](auto&&) { return PyRef(); });
  } catch (...) {
    return set_python_error();
  }
}

PyObject* server_close_clients(PyServer* self, PyObject*) {
  self->server->close_clients();
  Py_RETURN_NONE;
}

PyObject* server_abort_clients(PyServer* self, PyObject*) {
  self->server->abort_clients();
  Py_RETURN_NONE;
}

#define M(name, f, flags) \
  { name, reinterpret_cast<PyCFunction>(f), flags, nullptr }

PyMethodDef server_methods[] = {
    M("close", server_close, METH_NOARGS),
    M("is_serving", server_is_serving, METH_NOARGS),
    M("fds", server_fds, METH_NOARGS),
    M("start_serving", server_start_serving, METH_NOARGS),
    M("wait_closed", server_wait_closed, METH_NOARGS),
    M("close_clients", server_close_clients, METH_NOARGS),
    M("abort_clients", server_abort_clients, METH_NOARGS),
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot server_slots[] = {
    {Py_tp_dealloc, reinterpret_cast<void*>(server_dealloc)},
    {Py_tp_methods, server_methods},
    {0, nullptr},
};

PyType_Spec server_spec = {"aiocpp._native.Server", sizeof(PyServer), 0,
                           Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION, server_slots};

}  // namespace

bool add_server_type(PyObject* module) {
  server_type =
      reinterpret_cast<PyTypeObject*>(PyType_FromModuleAndSpec(module, &server_spec, nullptr));
  if (!server_type) return false;
  return PyModule_AddObjectRef(module, "Server", reinterpret_cast<PyObject*>(server_type)) == 0;
}

}  // namespace aiocpp::python
