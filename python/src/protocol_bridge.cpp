#include "protocol_bridge.hpp"

#include "errors.hpp"
#include "runtime.hpp"
#include "transport.hpp"

namespace aiocpp::python {

ProtocolBridge::ProtocolBridge(PyLoop* loop, PyRef protocol) : loop_(loop) {
  Py_INCREF(loop);
  set_protocol(std::move(protocol));
}

ProtocolBridge::~ProtocolBridge() {
  transport_.reset();
  data_received_.reset();
  protocol_.reset();
  Py_DECREF(loop_);
}

void ProtocolBridge::set_protocol(PyRef protocol) {
  protocol_ = std::move(protocol);
  // A protocol without data_received fails on the first read, not here.
  data_received_ = PyRef::steal(PyObject_GetAttr(protocol_.get(), runtime.str_data_received));
  if (!data_received_) PyErr_Clear();
}

void ProtocolBridge::report(const char* method) {
  PyRef name = PyRef::steal(PyUnicode_FromString(method));
  PyObject* args[] = {name ? name.get() : Py_None, protocol_.get(),
                      transport_ ? transport_.get() : Py_None};
  callback_failed(loop_, runtime.str_report_protocol_error, args, 3);
}

void ProtocolBridge::connection_made(Transport& transport) {
  transport_ =
      new_transport(loop_, std::shared_ptr<Transport>(transport.shared_from_this(), &transport));
  if (!transport_) {
    report("connection_made");
    return;
  }
  // asyncio runs connection_made as a plain callback: what it raises is
  // logged, and the connection carries on.
  PyRef result = PyRef::steal(
      PyObject_CallMethodOneArg(protocol_.get(), runtime.str_connection_made, transport_.get()));
  if (!result) report("connection_made");
}

void ProtocolBridge::data_received(std::string_view data) {
  PyObject* bytes = PyBytes_FromStringAndSize(data.data(), static_cast<Py_ssize_t>(data.size()));
  if (!bytes) throw_python_error();
  PyObject* result;
  if (data_received_) {
    result = PyObject_Vectorcall(data_received_.get(), &bytes, 1, nullptr);
  } else {
    result = PyObject_CallMethodOneArg(protocol_.get(), runtime.str_data_received, bytes);
  }
  Py_DECREF(bytes);
  if (result) {
    Py_DECREF(result);
    return;
  }
  PyRef error = fetch_exception();
  if (is_exit_exception(error.get())) {
    escape(loop_, std::move(error));
    return;
  }
  throw_python_error_object(std::move(error));  // the transport's fatal error path
}

bool ProtocolBridge::eof_received() {
  PyRef result = PyRef::steal(PyObject_CallMethodNoArgs(protocol_.get(), runtime.str_eof_received));
  if (!result) {
    PyRef error = fetch_exception();
    if (is_exit_exception(error.get())) {
      escape(loop_, std::move(error));
      return false;
    }
    throw_python_error_object(std::move(error));
  }
  int keep_open = PyObject_IsTrue(result.get());
  if (keep_open < 0) throw_python_error();
  return keep_open != 0;
}

void ProtocolBridge::connection_lost(std::exception_ptr error) {
  PyRef exception = error ? to_python(error) : PyRef::borrow(Py_None);
  PyRef result = PyRef::steal(
      PyObject_CallMethodOneArg(protocol_.get(), runtime.str_connection_lost, exception.get()));
  if (!result) report("connection_lost");
  // The Python transport's duplicate of the socket closes with the connection.
  // transport_ itself stays: create_connection may still have to return it.
  if (transport_) transport_lost(transport_.get());
}

void ProtocolBridge::pause_writing() {
  PyRef result =
      PyRef::steal(PyObject_CallMethodNoArgs(protocol_.get(), runtime.str_pause_writing));
  if (!result) report("pause_writing");
}

void ProtocolBridge::resume_writing() {
  PyRef result =
      PyRef::steal(PyObject_CallMethodNoArgs(protocol_.get(), runtime.str_resume_writing));
  if (!result) report("resume_writing");
}

ProtocolFactory make_protocol_factory(PyLoop* loop, PyObject* factory) {
  PyRef owned = PyRef::borrow(factory);
  PyRef loop_ref = PyRef::borrow(reinterpret_cast<PyObject*>(loop));
  return [owned, loop_ref]() -> std::shared_ptr<BaseProtocol> {
    auto* loop = reinterpret_cast<PyLoop*>(loop_ref.get());
    PyRef protocol = PyRef::steal(PyObject_CallNoArgs(owned.get()));
    if (!protocol) {
      PyRef error = fetch_exception();
      if (is_exit_exception(error.get())) escape(loop, error);
      throw_python_error_object(std::move(error));
    }
    return std::make_shared<ProtocolBridge>(loop, std::move(protocol));
  };
}

}  // namespace aiocpp::python
