// loop.start_tls: a live connection becomes TLS (asyncio's base_events.start_tls).

#include "aiocpp/ssl.hpp"
#include "core/loop_impl.hpp"
#include "tls/tls_wiring.hpp"

namespace aiocpp {

Task<std::shared_ptr<Transport>> EventLoop::start_tls(std::shared_ptr<Transport> transport,
                                                      std::shared_ptr<BaseProtocol> protocol,
                                                      std::shared_ptr<SSLContext> sslcontext,
                                                      StartTLSOptions options) {
  if (!sslcontext) throw TypeError("sslcontext is expected to be an instance of SSLContext");
  if (!transport) throw TypeError("transport is required");
  if (!protocol) throw TypeError("protocol is required");
  detail::check_ssl_arguments(true, options.ssl_handshake_timeout, options.ssl_shutdown_timeout);
  Future<void> waiter = create_future<void>();
  detail::TLSLayer layer = detail::make_tls_layer(*this, std::move(sslcontext), std::move(protocol),
                                                  options, waiter, false);
  // From here the transport's bytes are TLS records: nothing may reach the
  // old protocol, and the handshake starts on the next iteration, as in asyncio.
  transport->pause_reading();
  transport->set_protocol(layer.ssl_protocol);
  std::shared_ptr<Protocol> ssl_protocol = layer.ssl_protocol;
  auto make = [ssl_protocol, transport] { ssl_protocol->connection_made(*transport); };
  Handle made = call_soon(make);
  auto resume = [transport] { transport->resume_reading(); };
  Handle resumed = call_soon(resume);
  std::exception_ptr failed;
  try {
    co_await waiter;
  } catch (...) {
    failed = std::current_exception();
  }
  if (failed) {
    transport->close();
    made.cancel();
    resumed.cancel();
    std::rethrow_exception(failed);
  }
  co_return layer.app_transport;
}

}  // namespace aiocpp
