#include "method_helpers.hpp"

#include "protocol_bridge.hpp"

namespace aiocpp::python {

PyRef transport_and_protocol_of(const std::shared_ptr<BaseProtocol>& protocol) {
  BridgeCore* bridge = bridge_of(protocol);
  if (!bridge) return PyRef::steal(Py_BuildValue("(OO)", Py_None, Py_None));
  return PyRef::steal(Py_BuildValue("(OO)", bridge->transport() ? bridge->transport() : Py_None,
                                    bridge->protocol()));
}

// None / True / False as an optional<bool>.
bool optional_bool(PyObject* value, std::optional<bool>* out) {
  if (value == Py_None) return true;
  int truth = PyObject_IsTrue(value);
  if (truth < 0) return false;
  *out = truth != 0;
  return true;
}

bool string_of(PyObject* value, std::string* out) {
  Py_ssize_t size;
  const char* text = PyUnicode_AsUTF8AndSize(value, &size);
  if (!text) return false;
  out->assign(text, static_cast<std::size_t>(size));
  return true;
}

}  // namespace aiocpp::python
