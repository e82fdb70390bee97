// expect: subprocess_exec and subprocess_shell need a factory of a SubprocessProtocol
#include <aiocpp/aiocpp.hpp>

aiocpp::Task<> amain() {
  auto factory = [] { return std::make_shared<aiocpp::Protocol>(); };
  std::vector<std::string> argv{"/bin/true"};
  co_await aiocpp::get_running_loop().subprocess_exec(factory, argv);
}
