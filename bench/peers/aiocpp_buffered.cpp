// aiocpp's BufferedProtocol echo: the transport reads straight into the
// protocol's own buffer (get_buffer), and buffer_updated writes it back.

#include <vector>

#include "aiocpp_serve.hpp"

namespace {

class Echo : public aiocpp::BufferedProtocol {
 public:
  void connection_made(aiocpp::Transport& transport) override { transport_ = &transport; }
  std::span<char> get_buffer(std::size_t) override { return buffer_; }
  void buffer_updated(std::size_t nbytes) override {
    transport_->write(std::string_view(buffer_.data(), nbytes));
    if (budget_) budget_->echoed(nbytes);
  }

 private:
  aiocpp::Transport* transport_ = nullptr;  // valid until connection_lost
  peers::Budget* budget_ = peers::Budget::active();
  std::vector<char> buffer_ = std::vector<char>(256 * 1024);  // asyncio's read size
};

}  // namespace

int main(int argc, char** argv) { return peers::main_for<Echo>(argc, argv); }
