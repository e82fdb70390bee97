#pragma once
// Where the loop's create_* / connect_* methods and start_tls meet TLS: the
// checks of their ssl arguments, and the SSLProtocol put between a transport
// and the application's protocol.

#include <memory>
#include <optional>

#include "aiocpp/event_loop.hpp"

namespace aiocpp::detail {

// asyncio's ValueErrors: a timeout without ssl, or one that is not positive.
void check_ssl_arguments(bool has_ssl, const std::optional<double>& handshake_timeout,
                         const std::optional<double>& shutdown_timeout);

// An SSLProtocol over `app_protocol`: the protocol for the transport below
// and the transport for the application.
struct TLSLayer {
  std::shared_ptr<Protocol> ssl_protocol;
  std::shared_ptr<Transport> app_transport;
};
TLSLayer make_tls_layer(EventLoop& loop, std::shared_ptr<SSLContext> context,
                        std::shared_ptr<BaseProtocol> app_protocol, const StartTLSOptions& options,
                        Future<void> waiter, bool call_connection_made = true);

// A server's factory: with `context`, each connection's protocol is TLS
// over what `factory` makes; without, `factory` itself (after the checks).
ProtocolFactory server_factory(EventLoop& loop, ProtocolFactory factory,
                               std::shared_ptr<SSLContext> context,
                               const std::optional<double>& handshake_timeout,
                               const std::optional<double>& shutdown_timeout);

}  // namespace aiocpp::detail
