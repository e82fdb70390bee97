#pragma once
// asyncio's transports: what the loop implements. A transport is shared:
// the loop keeps it alive until connection_lost has returned; a reference held
// after that stays safe (its calls do nothing and is_closing() is true).

#include <any>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>

#include "aiocpp/protocols.hpp"
#include "aiocpp/socket_address.hpp"

namespace aiocpp {

class BaseTransport : public std::enable_shared_from_this<BaseTransport> {
 public:
  virtual ~BaseTransport() = default;

  // asyncio's keys: "peername", "sockname" (SocketAddress), "socket"
  // (TransportSocket); pipes: "pipe" (the descriptor, an int). An unknown key
  // gives `default_value`.
  virtual std::any get_extra_info(std::string_view name, std::any default_value = {}) const = 0;
  virtual bool is_closing() const = 0;
  // Closes after the write buffer is flushed; connection_lost(nullptr) follows.
  virtual void close() = 0;
  virtual void set_protocol(std::shared_ptr<BaseProtocol> protocol) = 0;
  virtual std::shared_ptr<BaseProtocol> get_protocol() const = 0;

  // Typed forms of get_extra_info.
  virtual SocketAddress peername() const { return {}; }
  virtual SocketAddress sockname() const { return {}; }
};

class ReadTransport : public virtual BaseTransport {
 public:
  virtual bool is_reading() const = 0;
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;
};

class WriteTransport : public virtual BaseTransport {
 public:
  // asyncio's defaults: high = 64 KiB, low = high / 4. Throws ValueError
  // unless high >= low >= 0.
  virtual void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                                       std::optional<std::size_t> low = std::nullopt) = 0;
  // (low, high), as asyncio returns them.
  virtual std::pair<std::size_t, std::size_t> get_write_buffer_limits() const = 0;
  virtual std::size_t get_write_buffer_size() const = 0;
  virtual std::size_t get_write_buffer_limit_high() const {
    return get_write_buffer_limits().second;
  }

  // Sends at once what the socket takes and buffers the rest. Ignored after
  // close() (as asyncio does); throws RuntimeError after write_eof() on a
  // socket (a pipe ignores it, as asyncio's pipe transport does).
  virtual void write(std::string_view data) = 0;
  virtual void writelines(std::span<const std::string_view> chunks) = 0;
  void writelines(std::initializer_list<std::string_view> chunks) {
    writelines(std::span<const std::string_view>(chunks.begin(), chunks.size()));
  }
  // Half-closes after the buffer is flushed.
  virtual void write_eof() = 0;
  virtual bool can_write_eof() const = 0;
  // Closes at once, dropping the buffer; connection_lost(nullptr) follows.
  virtual void abort() = 0;
  // Whether write() would now send or buffer its bytes, rather than raise
  // (after write_eof(), while sendfile runs) or drop them (closing, lost).
  // For a caller that holds writes back to send several together (the
  // Python binding's write cork): it keeps only what write() would take.
  virtual bool accepts_writes() const { return !is_closing(); }
};

class Transport : public ReadTransport, public WriteTransport {};

// --- UDP -------------------------------------------------------------------------
// asyncio.DatagramTransport. get_extra_info keys: "peername" (connected
// endpoints only), "sockname", "socket".
class DatagramTransport : public virtual BaseTransport {
 public:
  // Sends one datagram. On a connected endpoint (remote_addr) `addr` must be
  // empty or the remote address (std::invalid_argument otherwise); on an
  // unconnected one it is the destination. Sends at once; when the socket is
  // full the datagram is copied and sent on writability, in order. OS errors
  // go to the protocol's error_received. Empty data is ignored; so is a
  // sendto after the transport lost its socket (counted; logged once too many).
  virtual void sendto(std::string_view data,
                      const std::optional<SocketAddress>& addr = std::nullopt) = 0;
  // Closes at once, dropping what is buffered; connection_lost(nullptr) follows.
  virtual void abort() = 0;
  // Bytes of the datagrams waiting for the socket to take them.
  virtual std::size_t get_write_buffer_size() const = 0;
  // Flow control, as for stream transports: pause_writing() above `high`,
  // resume_writing() at `low` (asyncio's defaults: 64 KiB and high / 4).
  virtual void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                                       std::optional<std::size_t> low = std::nullopt) = 0;
  virtual std::pair<std::size_t, std::size_t> get_write_buffer_limits() const = 0;
};

}  // namespace aiocpp
