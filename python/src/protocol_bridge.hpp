#pragma once
// ProtocolBridge: the C++ protocol a native transport drives, forwarding each
// call to the Python protocol object (asyncio.Protocol's methods), with the
// GIL held (the loop holds it while it runs callbacks and I/O).

#include <memory>
#include <string_view>

#include "aiocpp/event_loop.hpp"
#include "aiocpp/protocols.hpp"
#include "loop.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

class ProtocolBridge final : public Protocol {
 public:
  ProtocolBridge(PyLoop* loop, PyRef protocol);
  ~ProtocolBridge() override;

  void connection_made(Transport& transport) override;
  void data_received(std::string_view data) override;
  bool eof_received() override;
  void connection_lost(std::exception_ptr error) override;
  void pause_writing() override;
  void resume_writing() override;

  // transport.set_protocol(): later calls go to `protocol`.
  void set_protocol(PyRef protocol);
  PyObject* protocol() const noexcept { return protocol_.get(); }
  // The Python transport, from connection_made until connection_lost.
  PyObject* transport() const noexcept { return transport_.get(); }

 private:
  // A protocol method raised: reported as asyncio reports it (or, for
  // KeyboardInterrupt / SystemExit, out of run_forever).
  void report(const char* method);

  PyLoop* loop_;  // owned reference
  PyRef protocol_;
  PyRef data_received_;  // protocol_.data_received, bound once (uvloop does too)
  PyRef transport_;
};

// A C++ protocol factory calling the Python one.
ProtocolFactory make_protocol_factory(PyLoop* loop, PyObject* factory);

}  // namespace aiocpp::python
