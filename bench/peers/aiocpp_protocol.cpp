// aiocpp's Protocol echo: data_received hands over a view of the loop's read
// buffer, and write() sends it at once (buffering only what the kernel refuses).
// Built a second time with AIOCPP_PEER_TLS as peer_aiocpp_tls: the same
// protocol with TLS (create_server's ssl=) between it and the TCP transport.

#include "aiocpp_serve.hpp"
#ifdef AIOCPP_PEER_TLS
#include "tls_credentials.hpp"
#endif

namespace {

class Echo : public aiocpp::Protocol {
 public:
  void connection_made(aiocpp::Transport& transport) override { transport_ = &transport; }
  void data_received(std::string_view data) override {
    transport_->write(data);
    if (budget_) budget_->echoed(data.size());
  }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  peers::Budget* budget_ = peers::Budget::active();
};

}  // namespace

int main(int argc, char** argv) {
#ifdef AIOCPP_PEER_TLS
  auto context = aiocpp::SSLContext::create_default_context(aiocpp::Purpose::CLIENT_AUTH);
  peers::use_bench_credentials(context->native_handle());
  return peers::main_for<Echo>(argc, argv, context);
#else
  return peers::main_for<Echo>(argc, argv);
#endif
}
