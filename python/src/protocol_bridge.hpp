#pragma once
// The C++ protocols a native transport drives, each forwarding its calls to
// a Python protocol object with the GIL held (the loop holds it while it runs
// callbacks and I/O):
//
//   ProtocolBridge    asyncio.Protocol on a stream or a pipe
//   BufferedBridge    asyncio.BufferedProtocol on a stream (get_buffer /
//                     buffer_updated: the kernel reads into Python's buffer)
//   DatagramBridge    asyncio.DatagramProtocol
//
// What raises where follows asyncio 3.11: a stream protocol's data_received,
// eof_received, get_buffer or buffer_updated closes that connection through
// the transport's fatal-error path; every other method's exception is
// reported to the exception handler and the transport carries on (pipes'
// data_received and datagram_received included, as asyncio's _read_ready
// lets those reach the handle's handler).

#include <memory>
#include <string_view>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/protocols.hpp"
#include "loop.hpp"
#include "py_ref.hpp"
#include "transport.hpp"

namespace aiocpp::python {

// What every bridge holds: the loop, the Python protocol and, from
// connection_made on, the Python transport.
class BridgeCore {
 public:
  BridgeCore(PyLoop* loop, PyRef protocol);
  virtual ~BridgeCore();

  PyObject* protocol() const noexcept { return protocol_.get(); }
  // The Python transport, from connection_made on (kept after connection_lost:
  // create_connection may still have to return it).
  PyObject* transport() const noexcept { return transport_.get(); }
  // transport.set_protocol() within the same kind: later calls go to `protocol`.
  virtual void set_python_protocol(PyRef protocol) { protocol_ = std::move(protocol); }
  PyLoop* loop() const noexcept { return loop_; }
  // set_protocol() across kinds (Protocol <-> BufferedProtocol): the new
  // bridge carries on with the old one's Python transport.
  void share_transport(const BridgeCore& other) { transport_ = other.transport_; }
  // transport._force_close(exc) (what asyncio's sslproto calls): connection_lost
  // gets `exc` rather than the transport's own reason.
  void force_close_with(PyRef exception) { forced_error_ = std::move(exception); }

 protected:
  // Wraps `transport` in a Python transport of `kind` and calls the Python
  // connection_made (reported if it raises, as asyncio logs it).
  void made(std::shared_ptr<BaseTransport> transport, TransportKind kind);
  void lost(std::exception_ptr error);
  // protocol.<name>(args...): reported if it raises.
  void call_reported(PyObject* name, const char* method, PyObject* const* args, size_t nargs);
  // protocol.<name>(args...): what it raises goes through the transport's
  // fatal-error path (KeyboardInterrupt / SystemExit leave the loop). Returns
  // the result (null after an exit exception).
  PyRef call_fatal(PyObject* name, PyObject* const* args, size_t nargs);
  // A protocol method raised (the Python error is set): reported as asyncio does.
  void report(const char* method);

  PyLoop* loop_;  // owned reference
  PyRef protocol_;
  PyRef transport_;
  PyRef forced_error_;
};

class ProtocolBridge final : public Protocol, public BridgeCore {
 public:
  ProtocolBridge(PyLoop* loop, PyRef protocol);
  void set_python_protocol(PyRef protocol) override;

  void connection_made(Transport& transport) override;
  void connection_made(ReadTransport& transport) override;   // a read pipe
  void connection_made(WriteTransport& transport) override;  // a write pipe
  void data_received(std::string_view data) override;
  bool eof_received() override;
  void connection_lost(std::exception_ptr error) override { lost(error); }
  void pause_writing() override;
  void resume_writing() override;

 private:
  PyRef data_received_;  // protocol_.data_received, bound once (uvloop does too)
  bool pipe_ = false;    // a pipe's data_received is reported, not fatal
};

class BufferedBridge final : public BufferedProtocol, public BridgeCore {
 public:
  BufferedBridge(PyLoop* loop, PyRef protocol) : BridgeCore(loop, std::move(protocol)) {}
  ~BufferedBridge() override;

  void connection_made(Transport& transport) override;
  std::span<char> get_buffer(std::size_t size_hint) override;
  void buffer_updated(std::size_t nbytes) override;
  bool eof_received() override;
  void connection_lost(std::exception_ptr error) override { lost(error); }
  void pause_writing() override;
  void resume_writing() override;

 private:
  void release_buffer();
  Py_buffer buffer_{};  // what get_buffer returned, held until buffer_updated
  bool holding_ = false;
};

class DatagramBridge final : public DatagramProtocol, public BridgeCore {
 public:
  DatagramBridge(PyLoop* loop, PyRef protocol) : BridgeCore(loop, std::move(protocol)) {}

  void connection_made(DatagramTransport& transport) override;
  void datagram_received(std::string_view data, const SocketAddress& addr) override;
  void error_received(std::exception_ptr error) override;
  void connection_lost(std::exception_ptr error) override { lost(error); }
  void pause_writing() override;
  void resume_writing() override;
};

// The stream bridge for a Python protocol: a BufferedBridge for an
// asyncio.BufferedProtocol, else a ProtocolBridge.
std::shared_ptr<BaseProtocol> stream_bridge(PyLoop* loop, PyRef protocol);
BridgeCore* bridge_of(const std::shared_ptr<BaseProtocol>& protocol);

// C++ protocol factories calling the Python one. make_protocol_factory's
// protocols are stream bridges; the others make the bridge named.
ProtocolFactory make_protocol_factory(PyLoop* loop, PyObject* factory);
// Calls the Python factory (a protocol, or an exception thrown as a PyError).
PyRef call_factory(PyLoop* loop, PyObject* factory);
template <class Bridge>
auto make_bridge_factory(PyLoop* loop, PyObject* factory) {
  PyRef owned = PyRef::borrow(factory);
  PyRef loop_ref = PyRef::borrow(reinterpret_cast<PyObject*>(loop));
  return [owned, loop_ref]() {
    auto* loop = reinterpret_cast<PyLoop*>(loop_ref.get());
    return std::make_shared<Bridge>(loop, call_factory(loop, owned.get()));
  };
}

}  // namespace aiocpp::python
