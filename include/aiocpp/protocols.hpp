#pragma once
// asyncio's protocols: what the application implements. The transport calls
// them in this order, each on the loop's thread and never re-entrantly:
//
//   start -> connection_made
//         [-> data_received (or get_buffer + buffer_updated)]*
//         [-> eof_received]?
//         -> connection_lost -> end
//
// pause_writing / resume_writing may come at any point between the first and
// the last, in strictly alternating pairs.

#include <cstddef>
#include <exception>
#include <span>
#include <string_view>

namespace aiocpp {

class BaseTransport;
class Transport;
class DatagramTransport;
class SocketAddress;
class ReadTransport;
class WriteTransport;

class BaseProtocol {
 public:
  virtual ~BaseProtocol() = default;
  // Pipes (connect_read_pipe / connect_write_pipe) hand their protocol the
  // transport they are: a read pipe a ReadTransport, a write pipe a
  // WriteTransport. Stream sockets call Protocol's connection_made(Transport&).
  virtual void connection_made(ReadTransport& transport) { (void)transport; }
  virtual void connection_made(WriteTransport& transport) { (void)transport; }
  // `error` is null for a clean close (EOF, close()), the cause otherwise.
  virtual void connection_lost(std::exception_ptr error) { (void)error; }
  // The transport's write buffer went over its high-water mark.
  virtual void pause_writing() {}
  // ... and drained to its low-water mark.
  virtual void resume_writing() {}
};

// A stream protocol: TCP, unix sockets, and read pipes (data_received,
// eof_received; a pipe's eof_received return value is ignored, as in asyncio).
class Protocol : public BaseProtocol {
 public:
  using BaseProtocol::connection_made;
  virtual void connection_made(Transport& transport) { (void)transport; }
  // `data` is valid only during the call.
  virtual void data_received(std::string_view data) { (void)data; }
  // The peer closed its side. Return true to keep the connection half-open
  // (we may still write); false closes the transport.
  virtual bool eof_received() { return false; }
};

// A stream protocol that receives into its own buffer: no copy between the
// kernel and the application.
class BufferedProtocol : public BaseProtocol {
 public:
  using BaseProtocol::connection_made;
  virtual void connection_made(Transport& transport) { (void)transport; }
  // A buffer to read into; `size_hint` is the suggested size (0: any).
  virtual std::span<char> get_buffer(std::size_t size_hint) = 0;
  // `nbytes` bytes were written at the start of the last buffer given.
  virtual void buffer_updated(std::size_t nbytes) = 0;
  virtual bool eof_received() { return false; }
};

// --- UDP -------------------------------------------------------------------------
// A datagram protocol (asyncio.DatagramProtocol): UDP and AF_UNIX datagram
// sockets. Call order:
//
//   start -> connection_made [-> datagram_received | error_received]* -> connection_lost -> end
class DatagramProtocol : public BaseProtocol {
 public:
  // BaseProtocol's pipe overloads stay visible (and Clang's
  // -Woverloaded-virtual quiet) beside the datagram one.
  using BaseProtocol::connection_made;
  virtual void connection_made(DatagramTransport& transport) { (void)transport; }
  // One whole datagram; `data` and `addr` are valid only during the call.
  // `addr` is the sender (empty for an unbound AF_UNIX sender).
  virtual void datagram_received(std::string_view data, const SocketAddress& addr) {
    (void)data;
    (void)addr;
  }
  // A send or receive failed with an OS error (a std::system_error) that does
  // not close the transport: ECONNREFUSED after an ICMP "port unreachable"
  // on a connected socket, EMSGSIZE for a datagram too large, ...
  virtual void error_received(std::exception_ptr error) { (void)error; }
};

}  // namespace aiocpp
