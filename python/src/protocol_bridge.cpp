#include "protocol_bridge.hpp"

#include <optional>

#include "errors.hpp"
#include "read_bytes.hpp"
#include "runtime.hpp"
#include "write_cork.hpp"

namespace aiocpp::python {

// --- BridgeCore --------------------------------------------------------------------

BridgeCore::BridgeCore(PyLoop* loop, PyRef protocol) : loop_(loop), protocol_(std::move(protocol)) {
  Py_INCREF(loop);
}

BridgeCore::~BridgeCore() {
  transport_.reset();
  protocol_.reset();
  Py_DECREF(loop_);
}

void BridgeCore::report(const char* method) {
  PyRef name = PyRef::steal(PyUnicode_FromString(method));
  PyObject* args[] = {name ? name.get() : Py_None, protocol_.get(),
                      transport_ ? transport_.get() : Py_None};
  callback_failed(loop_, runtime.str_report_protocol_error, args, 3);
}

void BridgeCore::made(std::shared_ptr<BaseTransport> transport, TransportKind kind) {
  transport_ = new_transport(loop_, std::move(transport), kind);
  if (!transport_) {
    report("connection_made");
    return;
  }
  // asyncio runs connection_made as a plain callback: what it raises is
  // logged, and the connection carries on.
  PyObject* arg = transport_.get();
  call_reported(runtime.str_connection_made, "connection_made", &arg, 1);
}

void BridgeCore::lost(std::exception_ptr error) {
  PyRef exception = forced_error_ ? forced_error_
                    : error       ? to_python(error)
                                  : PyRef::borrow(Py_None);
  PyObject* arg = exception.get();
  call_reported(runtime.str_connection_lost, "connection_lost", &arg, 1);
  // The Python transport's duplicate of the socket closes with the connection.
  if (transport_) transport_lost(transport_.get());
}

void BridgeCore::call_reported(PyObject* name, const char* method, PyObject* const* args,
                               size_t nargs) {
  PyObject* argv[4] = {protocol_.get()};
  for (size_t i = 0; i < nargs && i < 3; ++i) argv[i + 1] = args[i];
  PyRef result = PyRef::steal(
      PyObject_VectorcallMethod(name, argv, (nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr));
  if (!result) report(method);
}

PyRef BridgeCore::call_fatal(PyObject* name, PyObject* const* args, size_t nargs) {
  PyObject* argv[4] = {protocol_.get()};
  for (size_t i = 0; i < nargs && i < 3; ++i) argv[i + 1] = args[i];
  PyRef result = PyRef::steal(
      PyObject_VectorcallMethod(name, argv, (nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr));
  if (result) return result;
  PyRef error = fetch_exception();
  if (is_exit_exception(error.get())) {
    escape(loop_, std::move(error));
    return {};
  }
  throw_python_error_object(std::move(error));  // the transport's fatal error path
}

// --- ProtocolBridge ----------------------------------------------------------------

ProtocolBridge::ProtocolBridge(PyLoop* loop, PyRef protocol) : BridgeCore(loop, {}) {
  set_python_protocol(std::move(protocol));
}

void ProtocolBridge::set_python_protocol(PyRef protocol) {
  protocol_ = std::move(protocol);
  // A protocol without data_received fails on the first read, not here.
  data_received_ = PyRef::steal(PyObject_GetAttr(protocol_.get(), runtime.str_data_received));
  if (!data_received_) PyErr_Clear();
}

void ProtocolBridge::connection_made(Transport& transport) {
  made(transport.shared_from_this(), TransportKind::stream);
}

void ProtocolBridge::connection_made(ReadTransport& transport) {
  pipe_ = true;
  made(transport.shared_from_this(), TransportKind::read_pipe);
}

void ProtocolBridge::connection_made(WriteTransport& transport) {
  pipe_ = true;
  made(transport.shared_from_this(), TransportKind::write_pipe);
}

void ProtocolBridge::data_received(std::string_view data) {
  // Declared first, so destroyed last: after the cork has sent (and let go
  // of) what the protocol wrote, the bytes may be the loop's alone again.
  ReadBytes bytes(loop_, data);
  ReadCallbackCork cork(transport_.get());
  PyObject* result;
  if (data_received_) {
    // The slot before the argument lets the bound method put `self` there
    // instead of copying the arguments.
    PyObject* argv[] = {nullptr, bytes.get()};
    result = PyObject_Vectorcall(data_received_.get(), argv + 1, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                 nullptr);
  } else {
    result = PyObject_CallMethodOneArg(protocol_.get(), runtime.str_data_received, bytes.get());
  }
  if (result) {
    Py_DECREF(result);
    return;
  }
  if (pipe_) {
    report("data_received");
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
  if (pipe_) {  // asyncio ignores a pipe's answer, and reports what it raises
    call_reported(runtime.str_eof_received, "eof_received", nullptr, 0);
    return false;
  }
  PyRef result = call_fatal(runtime.str_eof_received, nullptr, 0);
  if (!result) return false;
  int keep_open = PyObject_IsTrue(result.get());
  if (keep_open < 0) throw_python_error();
  return keep_open != 0;
}

void ProtocolBridge::pause_writing() {
  call_reported(runtime.str_pause_writing, "pause_writing", nullptr, 0);
}

void ProtocolBridge::resume_writing() {
  call_reported(runtime.str_resume_writing, "resume_writing", nullptr, 0);
}

// --- BufferedBridge ----------------------------------------------------------------

BufferedBridge::~BufferedBridge() { release_buffer(); }

void BufferedBridge::release_buffer() {
  if (!holding_) return;
  holding_ = false;
  PyBuffer_Release(&buffer_);
}

void BufferedBridge::connection_made(Transport& transport) {
  made(transport.shared_from_this(), TransportKind::stream);
}

std::span<char> BufferedBridge::get_buffer(std::size_t) {
  release_buffer();
  PyRef hint = PyRef::steal(PyLong_FromLong(-1));  // asyncio's selector transport asks for -1
  PyObject* arg = hint.get();
  PyRef buffer = call_fatal(runtime.str_get_buffer, &arg, 1);
  if (!buffer) return {};
  if (PyObject_GetBuffer(buffer.get(), &buffer_, PyBUF_WRITABLE) < 0) throw_python_error();
  holding_ = true;
  if (buffer_.len == 0) {
    release_buffer();
    PyErr_SetString(PyExc_RuntimeError, "get_buffer() returned an empty buffer");
    throw_python_error();
  }
  return {static_cast<char*>(buffer_.buf), static_cast<std::size_t>(buffer_.len)};
}

void BufferedBridge::buffer_updated(std::size_t nbytes) {
  release_buffer();
  PyRef count = PyRef::steal(PyLong_FromSize_t(nbytes));
  PyObject* arg = count.get();
  ReadCallbackCork cork(transport_.get());
  call_fatal(runtime.str_buffer_updated, &arg, 1);
}

bool BufferedBridge::eof_received() {
  PyRef result = call_fatal(runtime.str_eof_received, nullptr, 0);
  if (!result) return false;
  int keep_open = PyObject_IsTrue(result.get());
  if (keep_open < 0) throw_python_error();
  return keep_open != 0;
}

void BufferedBridge::pause_writing() {
  call_reported(runtime.str_pause_writing, "pause_writing", nullptr, 0);
}

void BufferedBridge::resume_writing() {
  call_reported(runtime.str_resume_writing, "resume_writing", nullptr, 0);
}

// --- DatagramBridge ----------------------------------------------------------------

void DatagramBridge::connection_made(DatagramTransport& transport) {
  made(transport.shared_from_this(), TransportKind::datagram);
}

void DatagramBridge::datagram_received(std::string_view data, const SocketAddress& addr) {
  PyRef address = address_to_python(addr);
  if (!address) {
    report("datagram_received");
    return;
  }
  std::optional<ReadBytes> bytes;
  try {
    bytes.emplace(loop_, data);
  } catch (...) {  // a MemoryError: reported, as what the protocol raises
    set_python_error();
    report("datagram_received");
    return;
  }
  PyObject* args[] = {bytes->get(), address.get()};
  call_reported(runtime.str_datagram_received, "datagram_received", args, 2);
}

void DatagramBridge::error_received(std::exception_ptr error) {
  PyRef exception = to_python(error);
  PyObject* arg = exception.get();
  call_reported(runtime.str_error_received, "error_received", &arg, 1);
}

void DatagramBridge::pause_writing() {
  call_reported(runtime.str_pause_writing, "pause_writing", nullptr, 0);
}

void DatagramBridge::resume_writing() {
  call_reported(runtime.str_resume_writing, "resume_writing", nullptr, 0);
}

// --- Factories ---------------------------------------------------------------------

std::shared_ptr<BaseProtocol> stream_bridge(PyLoop* loop, PyRef protocol) {
  int buffered = PyObject_IsInstance(protocol.get(), runtime.buffered_protocol);
  if (buffered < 0) throw_python_error();
  if (buffered) return std::make_shared<BufferedBridge>(loop, std::move(protocol));
  return std::make_shared<ProtocolBridge>(loop, std::move(protocol));
}

BridgeCore* bridge_of(const std::shared_ptr<BaseProtocol>& protocol) {
  return dynamic_cast<BridgeCore*>(protocol.get());
}

PyRef call_factory(PyLoop* loop, PyObject* factory) {
  PyRef protocol = PyRef::steal(PyObject_CallNoArgs(factory));
  if (!protocol) {
    PyRef error = fetch_exception();
    if (is_exit_exception(error.get())) escape(loop, error);
    throw_python_error_object(std::move(error));
  }
  return protocol;
}

ProtocolFactory make_protocol_factory(PyLoop* loop, PyObject* factory) {
  PyRef owned = PyRef::borrow(factory);
  PyRef loop_ref = PyRef::borrow(reinterpret_cast<PyObject*>(loop));
  return [owned, loop_ref]() -> std::shared_ptr<BaseProtocol> {
    auto* loop = reinterpret_cast<PyLoop*>(loop_ref.get());
    return stream_bridge(loop, call_factory(loop, owned.get()));
  };
}

}  // namespace aiocpp::python
