#include "exception_bridge.hpp"

#include "errors.hpp"
#include "protocol_bridge.hpp"
#include "runtime.hpp"

namespace aiocpp::python {

namespace {

bool put(PyObject* dict, const char* key, PyObject* value) {
  return value && PyDict_SetItemString(dict, key, value) == 0;
}

void call_python_handler(PyLoop* loop, const ExceptionContext& context) {
  PyRef dict = PyRef::steal(PyDict_New());
  if (!dict) return;
  PyRef message = PyRef::steal(PyUnicode_DecodeUTF8(
      context.message.data(), static_cast<Py_ssize_t>(context.message.size()), "replace"));
  if (!put(dict.get(), "message", message.get())) return;
  if (context.exception && !put(dict.get(), "exception", to_python(context.exception).get()))
    return;
  if (auto* bridge = dynamic_cast<ProtocolBridge*>(context.protocol.get())) {
    if (!put(dict.get(), "protocol", bridge->protocol())) return;
    if (bridge->transport() && !put(dict.get(), "transport", bridge->transport())) return;
  }
  for (auto& [key, value] : context.extra) {
    PyRef text = PyRef::steal(
        PyUnicode_DecodeUTF8(value.data(), static_cast<Py_ssize_t>(value.size()), "replace"));
    if (!put(dict.get(), key.c_str(), text.get())) return;
  }
  PyRef result = PyRef::steal(PyObject_CallMethodOneArg(
      reinterpret_cast<PyObject*>(loop), runtime.str_call_exception_handler, dict.get()));
  if (result) return;
  PyRef failure = fetch_exception();
  if (is_exit_exception(failure.get())) {
    escape(loop, std::move(failure));
  } else {
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(failure.get())), failure.get());
    PyErr_WriteUnraisable(reinterpret_cast<PyObject*>(loop));
  }
}

}  // namespace

void install_exception_bridge(PyLoop* loop) {
  // Lifetime: the C++ loop belongs to `loop`, so the handler never outlives it.
  loop->loop->set_exception_handler([loop](EventLoop&, const ExceptionContext& context) {
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *type, *value, *traceback;  // an error being raised meanwhile is kept aside
    PyErr_Fetch(&type, &value, &traceback);
    call_python_handler(loop, context);
    PyErr_Clear();
    PyErr_Restore(type, value, traceback);
    PyGILState_Release(gil);
  });
}

}  // namespace aiocpp::python
