#include "core/transport_lifecycle.hpp"

#include <algorithm>
#include <system_error>

#include "aiocpp/exception_context.hpp"

namespace aiocpp::detail {

namespace {

// asyncio warns once a closed transport has been written to this many times.
constexpr int log_threshold_for_connlost_writes = 5;

}  // namespace

void TransportLifecycle::start(std::shared_ptr<BaseTransport> self, Future<void> waiter) {
  self_ = std::move(self);
  loop_.track(this);
  loop_.loop.call_soon([this, keep = self_, waiter]() mutable {
    if (lost_ == Lost::called) {  // gone before connection_made could run
      if (waiter.valid() && !waiter.done()) waiter.set_result();
      return;
    }
    try {
      call_connection_made();
    } catch (...) {
      std::exception_ptr failed = std::current_exception();
      fatal_error(failed, connection_made_error_message());
      if (waiter.valid() && !waiter.done()) waiter.set_exception(failed);
      return;
    }
    connection_made_done();
    if (waiter.valid() && !waiter.done()) waiter.set_result();
  });
}

void TransportLifecycle::begin_close() {
  if (closing_) return;
  closing_ = true;
  update_watching();
  if (write_buffer_size() == 0) drained_while_closing();
}

void TransportLifecycle::drained_while_closing() {
  if (lost_ != Lost::no) return;
  ++conn_lost_;
  update_watching();
  schedule_connection_lost(nullptr);
}

bool TransportLifecycle::is_quiet(const std::exception_ptr& error) const noexcept {
  try {
    std::rethrow_exception(error);
  } catch (const std::system_error&) {
    return true;
  } catch (...) {
    return false;
  }
}

void TransportLifecycle::fatal_error(std::exception_ptr error, const char* message) {
  if (!is_quiet(error)) report(message, error);
  force_close(std::move(error));
}

void TransportLifecycle::force_close(std::exception_ptr error) {
  if (lost_ != Lost::no) return;
  drop_write_buffer();
  closing_ = true;
  ++conn_lost_;
  update_watching();
  schedule_connection_lost(std::move(error));
}

void TransportLifecycle::schedule_connection_lost(std::exception_ptr error) {
  if (lost_ != Lost::no) return;
  lost_ = Lost::scheduled;
  if (!self_) {
    // Never started (it failed while being set up): just let go.
    call_connection_lost(std::move(error));
    return;
  }
  loop_.loop.call_soon([this, keep = self_, error = std::move(error)]() mutable {
    call_connection_lost(std::move(error));
  });
}

void TransportLifecycle::call_connection_lost(std::exception_ptr error) {
  if (lost_ == Lost::called) return;
  lost_ = Lost::called;
  std::shared_ptr<BaseTransport> keep = self_;  // released last, below
  before_connection_lost();
  std::exception_ptr raised;
  if (protocol_) {
    try {
      protocol_->connection_lost(std::move(error));
    } catch (...) {
      raised = std::current_exception();
    }
  }
  close_descriptor();
  protocol_.reset();
  released();
  loop_.untrack(this);
  self_.reset();
  if (raised) std::rethrow_exception(raised);  // reaches the handler as "Exception in callback"
}

void TransportLifecycle::release_on_loop_close() noexcept {
  std::shared_ptr<BaseTransport> keep = std::move(self_);
  closing_ = true;
  conn_lost_ = std::max(conn_lost_, 1);
  lost_ = Lost::called;  // nothing will call connection_lost now
  drop_write_buffer();
  forget_descriptor();
  protocol_.reset();
  released();
}

void TransportLifecycle::count_lost_write(const char* warning) {
  if (conn_lost_ >= log_threshold_for_connlost_writes) log_error(warning);
  ++conn_lost_;
}

void TransportLifecycle::report(const char* message, std::exception_ptr error) {
  report_protocol_error(loop_, message, std::move(error), self_, protocol_);
}

void TransportLifecycle::set_flow_limits(std::optional<std::size_t> high,
                                         std::optional<std::size_t> low) {
  flow_.set_limits(high, low);
  maybe_pause_protocol();
}

}  // namespace aiocpp::detail
