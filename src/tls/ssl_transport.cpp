#include "tls/ssl_transport.hpp"

namespace aiocpp::detail {

std::any SSLTransport::get_extra_info(std::string_view name, std::any default_value) const {
  if (!owner_) return default_value;
  return owner_->get_extra_info(name, std::move(default_value));
}

void SSLTransport::close() {
  if (closed_ || !owner_) return;
  closed_ = true;
  owner_->start_shutdown();
}

void SSLTransport::abort() {
  closed_ = true;
  if (owner_) owner_->abort();
}

void SSLTransport::set_protocol(std::shared_ptr<BaseProtocol> protocol) {
  if (owner_) owner_->set_app_protocol(std::move(protocol));
}

std::shared_ptr<BaseProtocol> SSLTransport::get_protocol() const {
  return owner_ ? owner_->app_protocol() : nullptr;
}

SocketAddress SSLTransport::peername() const {
  return owner_ && owner_->transport() ? owner_->transport()->peername() : SocketAddress();
}

SocketAddress SSLTransport::sockname() const {
  return owner_ && owner_->transport() ? owner_->transport()->sockname() : SocketAddress();
}

void SSLTransport::pause_reading() {
  if (owner_) owner_->pause_app_reading();
}

void SSLTransport::resume_reading() {
  if (owner_) owner_->resume_app_reading();
}

void SSLTransport::set_write_buffer_limits(std::optional<std::size_t> high,
                                           std::optional<std::size_t> low) {
  if (owner_) owner_->set_write_buffer_limits(high, low);
}

std::pair<std::size_t, std::size_t> SSLTransport::get_write_buffer_limits() const {
  return owner_ ? owner_->write_buffer_limits() : std::pair<std::size_t, std::size_t>{};
}

std::size_t SSLTransport::get_write_buffer_size() const {
  return owner_ ? owner_->write_buffer_size() : 0;
}

void SSLTransport::write(std::string_view data) {
  if (owner_ && owner_->sendfile_running()) {
    throw RuntimeError("unable to write; sendfile is in progress");
  }
  if (closed_ || !owner_) return;  // ignored after close(), as a socket transport does
  owner_->write_appdata(data);
}

void SSLTransport::writelines(std::span<const std::string_view> chunks) {
  for (std::string_view chunk : chunks) write(chunk);
}

void SSLTransport::write_eof() { throw RuntimeError("SSL doesn't support half-closes"); }

Future<void> SSLTransport::make_empty_waiter() {
  if (!owner_) throw RuntimeError("Transport is closing");
  return owner_->make_empty_waiter();
}

void SSLTransport::reset_empty_waiter() noexcept {
  if (owner_) owner_->reset_empty_waiter();
}

Task<std::size_t> SSLTransport::sendfile(int, std::int64_t, std::optional<std::size_t>) {
  throw SendfileNotAvailableError(
      "no kernel TLS here: the file goes through the TLS transport's write()");
  co_return 0;
}

}  // namespace aiocpp::detail
