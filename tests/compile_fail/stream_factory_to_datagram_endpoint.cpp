// expect: create_datagram_endpoint needs a factory of a DatagramProtocol
#include <aiocpp/aiocpp.hpp>

struct Echo : aiocpp::Protocol {};

aiocpp::Task<> amain() {
  auto factory = [] { return std::make_shared<Echo>(); };
  aiocpp::DatagramEndpointOptions options{.local_addr = std::pair{"127.0.0.1", 0}};
  co_await aiocpp::get_running_loop().create_datagram_endpoint(factory, options);
}
