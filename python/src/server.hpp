#pragma once
// _native.Server: the C++ Server (listening sockets, accepting) behind
// aiocpp.Server (aiocpp/_server.py), which adds asyncio.AbstractServer's
// Python-level API with asyncio 3.11's semantics.

#include <memory>

#include "aiocpp/server.hpp"
#include "loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

struct PyServer {
  PyObject_HEAD std::shared_ptr<Server> server;
  PyLoop* loop;
};

extern PyTypeObject* server_type;
bool add_server_type(PyObject* module);
PyRef new_server(PyLoop* loop, std::shared_ptr<Server> server);

}  // namespace aiocpp::python
