#pragma once
// SSLTransport: what the application's protocol sees over TLS (asyncio's
// _SSLProtocolTransport). Every call goes to the SSLProtocol that owns it;
// once that is gone (after connection_lost) the calls do nothing and
// is_closing() is true, as for any transport reference kept too long.
//
// loop.sendfile over TLS: without kernel TLS the file's bytes must go
// through OpenSSL, so the native send is never available and loop.sendfile
// falls back to reading chunks and writing them here (asyncio's
// _SendfileMode.FALLBACK for its SSL transport).

#include "core/sendfile.hpp"
#include "tls/ssl_protocol.hpp"

namespace aiocpp::detail {

class SSLTransport final : public Transport, public SendfileTarget {
 public:
  explicit SSLTransport(SSLProtocol& owner) : owner_(&owner) {}

  // The SSLProtocol is going away.
  void detach() noexcept {
    owner_ = nullptr;
    closed_ = true;
  }
  // close() was asked for, or the connection is gone: writes are dropped.
  void mark_closed() noexcept { closed_ = true; }

  std::any get_extra_info(std::string_view name, std::any default_value = {}) const override;
  bool is_closing() const override { return closed_; }
  // Sends close_notify once what was written is out, waits (up to the
  // shutdown timeout) for the peer's, then closes the transport below.
  void close() override;
  void set_protocol(std::shared_ptr<BaseProtocol> protocol) override;
  std::shared_ptr<BaseProtocol> get_protocol() const override;
  SocketAddress peername() const override;
  SocketAddress sockname() const override;

  bool is_reading() const override { return owner_ && !owner_->app_reading_paused(); }
  void pause_reading() override;
  void resume_reading() override;

  void set_write_buffer_limits(std::optional<std::size_t> high = std::nullopt,
                               std::optional<std::size_t> low = std::nullopt) override;
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const override;
  std::size_t get_write_buffer_size() const override;
  void write(std::string_view data) override;
  void writelines(std::span<const std::string_view> chunks) override;
  // TLS has no half-close: RuntimeError (asyncio refuses write_eof here too).
  void write_eof() override;
  bool can_write_eof() const override { return false; }
  // Closes the transport below at once, without close_notify.
  void abort() override;

  // SendfileTarget: the waiter completes once every record is in the
  // transport below and that one is not over its high-water mark; write()
  // is refused meanwhile. sendfile() is SendfileNotAvailableError.
  Future<void> make_empty_waiter() override;
  void reset_empty_waiter() noexcept override;
  Task<std::size_t> sendfile(int file, std::int64_t offset,
                             std::optional<std::size_t> count) override;

 private:
  SSLProtocol* owner_;  // Lifetime: until the SSLProtocol's destructor detaches us
  bool closed_ = false;
};

}  // namespace aiocpp::detail
