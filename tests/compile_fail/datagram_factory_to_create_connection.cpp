// expect: need a factory of a Protocol or a BufferedProtocol
#include <aiocpp/aiocpp.hpp>

struct Datagrams : aiocpp::DatagramProtocol {};

aiocpp::Task<> amain() {
  auto factory = [] { return std::make_shared<Datagrams>(); };
  co_await aiocpp::get_running_loop().create_connection(factory, "127.0.0.1", 8888);
}
