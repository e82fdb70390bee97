#include "tls/tls_wiring.hpp"

#include <cstdio>

#include "core/connection_made.hpp"
#include "tls/ssl_protocol.hpp"
#include "tls/ssl_transport.hpp"

namespace aiocpp::detail {

namespace {

void check_timeout(const char* name, const std::optional<double>& timeout) {
  if (timeout && !(*timeout > 0)) {
    char value[32];
    std::snprintf(value, sizeof value, "%g", *timeout);
    throw ValueError(std::string(name) + " should be a positive number, got " + value);
  }
}

}  // namespace

void check_ssl_arguments(bool has_ssl, const std::optional<double>& handshake_timeout,
                         const std::optional<double>& shutdown_timeout) {
  if (!has_ssl && handshake_timeout) {
    throw ValueError("ssl_handshake_timeout is only meaningful with ssl");
  }
  if (!has_ssl && shutdown_timeout) {
    throw ValueError("ssl_shutdown_timeout is only meaningful with ssl");
  }
  check_timeout("ssl_handshake_timeout", handshake_timeout);
  check_timeout("ssl_shutdown_timeout", shutdown_timeout);
}

TLSLayer make_tls_layer(EventLoop& loop, std::shared_ptr<SSLContext> context,
                        std::shared_ptr<BaseProtocol> app_protocol, const StartTLSOptions& options,
                        Future<void> waiter, bool call_connection_made) {
  SSLProtocol::Options o;
  o.server_side = options.server_side;
  o.server_hostname = options.server_hostname.value_or("");
  o.handshake_timeout = options.ssl_handshake_timeout.value_or(ssl_handshake_timeout_default);
  o.shutdown_timeout = options.ssl_shutdown_timeout.value_or(ssl_shutdown_timeout_default);
  o.call_connection_made = call_connection_made;
  auto protocol = std::make_shared<SSLProtocol>(loop, std::move(context), std::move(app_protocol),
                                                o, std::move(waiter));
  std::shared_ptr<Transport> app_transport = protocol->app_transport();
  return TLSLayer{std::move(protocol), std::move(app_transport)};
}

ProtocolFactory server_factory(EventLoop& loop, ProtocolFactory factory,
                               std::shared_ptr<SSLContext> context,
                               const std::optional<double>& handshake_timeout,
                               const std::optional<double>& shutdown_timeout) {
  check_ssl_arguments(context != nullptr, handshake_timeout, shutdown_timeout);
  if (!context) return factory;
  if (!context->server_side()) {
    throw ValueError("Cannot create a server socket with a PROTOCOL_TLS_CLIENT context");
  }
  StartTLSOptions options;
  options.server_side = true;
  options.ssl_handshake_timeout = handshake_timeout;
  options.ssl_shutdown_timeout = shutdown_timeout;
  // Lifetime: the loop outlives its servers and their factories.
  EventLoop* on = &loop;
  return [on, factory = std::move(factory), context = std::move(context),
          options]() -> std::shared_ptr<BaseProtocol> {
    return make_tls_layer(*on, context, make_protocol(factory), options, Future<void>())
        .ssl_protocol;
  };
}

}  // namespace aiocpp::detail
