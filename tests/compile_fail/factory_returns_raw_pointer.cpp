// expect: must return std::shared_ptr<P>, not a raw pointer
#include <aiocpp/aiocpp.hpp>

struct Echo : aiocpp::Protocol {};

aiocpp::Task<> amain() {
  auto factory = [] { return new Echo; };
  co_await aiocpp::get_running_loop().create_connection(factory, "127.0.0.1", 8888);
}
