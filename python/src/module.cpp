// aiocpp._native: the extension module. Creates the types and looks up, once,
// the asyncio objects the native code uses (runtime.hpp).

#include "errors.hpp"
#include "handle.hpp"
#include "loop.hpp"
#include "runtime.hpp"
#include "server.hpp"
#include "transport.hpp"

namespace aiocpp::python {

Runtime runtime;

namespace {

PyObject* attribute_of(const char* module_name, const char* name) {
  PyRef module = PyRef::steal(PyImport_ImportModule(module_name));
  if (!module) return nullptr;
  return PyObject_GetAttrString(module.get(), name);
}

bool intern(PyObject** slot, const char* text) {
  *slot = PyUnicode_InternFromString(text);
  return *slot != nullptr;
}

// _register(check_callback, transport_socket): the Python layer's helpers.
PyObject* register_helpers(PyObject*, PyObject* args) {
  PyObject *check, *sock;
  if (!PyArg_ParseTuple(args, "OO", &check, &sock)) return nullptr;
  Py_XSETREF(runtime.check_callback, Py_NewRef(check));
  Py_XSETREF(runtime.transport_socket, Py_NewRef(sock));
  Py_RETURN_NONE;
}

PyMethodDef module_methods[] = {
    {"_register", register_helpers, METH_VARARGS, nullptr},
    {nullptr, nullptr, 0, nullptr},
};

PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "aiocpp._native",
                          "aiocpp's C++ event loop under asyncio", -1, module_methods};

bool init_runtime() {
  runtime.cancelled_error = attribute_of("asyncio", "CancelledError");
  runtime.invalid_state_error = attribute_of("asyncio", "InvalidStateError");
  runtime.gaierror = attribute_of("socket", "gaierror");
  runtime.sendfile_not_available_error = attribute_of("asyncio", "SendfileNotAvailableError");
  runtime.transport_base = attribute_of("asyncio", "Transport");
  runtime.read_transport_base = attribute_of("asyncio", "ReadTransport");
  runtime.write_transport_base = attribute_of("asyncio", "WriteTransport");
  runtime.datagram_transport_base = attribute_of("asyncio", "DatagramTransport");
  runtime.buffered_protocol = attribute_of("asyncio", "BufferedProtocol");
  runtime.future_type = attribute_of("asyncio", "Future");
  runtime.kwnames_loop = Py_BuildValue("(N)", PyUnicode_InternFromString("loop"));
  runtime.task_type = attribute_of("asyncio", "Task");
  runtime.kwnames_task =
      Py_BuildValue("(NNN)", PyUnicode_InternFromString("loop"), PyUnicode_InternFromString("name"),
                    PyUnicode_InternFromString("context"));
  if (!runtime.cancelled_error || !runtime.invalid_state_error || !runtime.gaierror ||
      !runtime.sendfile_not_available_error || !runtime.transport_base ||
      !runtime.read_transport_base || !runtime.write_transport_base ||
      !runtime.datagram_transport_base || !runtime.buffered_protocol || !runtime.future_type ||
      !runtime.kwnames_loop || !runtime.task_type || !runtime.kwnames_task) {
    return false;
  }
  return intern(&runtime.str_connection_made, "connection_made") &&
         intern(&runtime.str_data_received, "data_received") &&
         intern(&runtime.str_eof_received, "eof_received") &&
         intern(&runtime.str_connection_lost, "connection_lost") &&
         intern(&runtime.str_pause_writing, "pause_writing") &&
         intern(&runtime.str_resume_writing, "resume_writing") &&
         intern(&runtime.str_get_buffer, "get_buffer") &&
         intern(&runtime.str_buffer_updated, "buffer_updated") &&
         intern(&runtime.str_datagram_received, "datagram_received") &&
         intern(&runtime.str_error_received, "error_received") &&
         intern(&runtime.str_call_exception_handler, "call_exception_handler") &&
         intern(&runtime.str_report_callback_error, "_report_callback_error") &&
         intern(&runtime.str_report_protocol_error, "_report_protocol_error") &&
         intern(&runtime.str_log_slow_callback, "_log_slow_callback") &&
         intern(&runtime.str_slow_callback_duration, "slow_callback_duration") &&
         intern(&runtime.str_create_future, "create_future") &&
         intern(&runtime.str_set_result, "set_result") &&
         intern(&runtime.str_set_exception, "set_exception") &&
         intern(&runtime.str_cancelled, "cancelled") &&
         intern(&runtime.str_add_done_callback, "add_done_callback") &&
         intern(&runtime.str_peername, "peername") && intern(&runtime.str_sockname, "sockname") &&
         intern(&runtime.str_pipe, "pipe") && intern(&runtime.str_socket, "socket") &&
         intern(&runtime.str_name, "name") && intern(&runtime.str_context, "context") &&
         intern(&runtime.str_task_factory, "_task_factory") &&
         intern(&runtime.str_create_task_slow, "_create_task");
}

}  // namespace

}  // namespace aiocpp::python

PyMODINIT_FUNC PyInit__native() {
  using namespace aiocpp::python;
  if (!init_runtime()) return nullptr;
  PyRef module = PyRef::steal(PyModule_Create(&module_def));
  if (!module) return nullptr;
  if (!add_handle_types(module.get()) || !add_loop_type(module.get()) ||
      !add_transport_types(module.get()) || !add_server_type(module.get())) {
    return nullptr;
  }
  return module.release();
}
