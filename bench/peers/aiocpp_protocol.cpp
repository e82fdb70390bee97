// aiocpp's Protocol echo: data_received hands over a view of the loop's read
// buffer, and write() sends it at once (buffering only what the kernel refuses).

#include "aiocpp_serve.hpp"

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

int main(int argc, char** argv) { return peers::main_for<Echo>(argc, argv); }
