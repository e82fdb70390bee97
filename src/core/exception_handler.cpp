// The loop's exception handler API (asyncio's call_exception_handler family).

#include <cxxabi.h>

#include <typeinfo>

#include "aiocpp/event_loop.hpp"
#include "core/loop_impl.hpp"

namespace aiocpp {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string out = (status == 0 && readable) ? readable : name;
  std::free(readable);
  return out;
}

// "TypeName: what()" for any exception.
std::string describe(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return demangle(typeid(e).name()) + ": " + e.what();
  } catch (const CancelledError& e) {
    return std::string("aiocpp::CancelledError: ") + e.what();
  } catch (...) {
    std::type_info* type = abi::__cxa_current_exception_type();
    return type ? demangle(type->name()) : std::string("unknown exception");
  }
}

}  // namespace

void EventLoop::set_exception_handler(ExceptionHandler handler) {
  impl_->exception_handler = std::move(handler);
}

const ExceptionHandler& EventLoop::get_exception_handler() const {
  return impl_->exception_handler;
}

void EventLoop::default_exception_handler(const ExceptionContext& context) {
  std::string line =
      context.message.empty() ? "Unhandled exception in event loop" : context.message;
  if (context.handle) line += "\nhandle: " + context.handle.repr();
  if (context.future) {
    line += std::string("\n") + (context.future.is_task() ? "task" : "future") + ": " +
            context.future.repr();
  }
  if (context.protocol) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%p", static_cast<void*>(context.protocol.get()));
    // Dereferenced outside typeid: clang warns of the call inside it.
    const BaseProtocol& protocol = *context.protocol;
    line += "\nprotocol: " + demangle(typeid(protocol).name()) + " at " + buf;
  }
  if (context.transport) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%p", static_cast<void*>(context.transport.get()));
    const BaseTransport& transport = *context.transport;
    line += "\ntransport: " + demangle(typeid(transport).name()) + " at " + buf;
  }
  if (context.socket >= 0) line += "\nsocket: fd=" + std::to_string(context.socket);
  for (auto& [key, value] : context.extra) line += "\n" + key + ": " + value;
  if (context.exception) line += "\nexception: " + describe(context.exception);
  log_error(line);
}

void EventLoop::call_exception_handler(const ExceptionContext& context) noexcept {
  if (!impl_->exception_handler) {
    try {
      default_exception_handler(context);
    } catch (...) {
      log_error("Exception in default exception handler");
    }
    return;
  }
  try {
    impl_->exception_handler(*this, context);
  } catch (...) {
    try {
      ExceptionContext failure;
      failure.message = "Unhandled error in exception handler";
      failure.exception = std::current_exception();
      failure.extra.emplace_back("context", context.message);
      default_exception_handler(failure);
    } catch (...) {
      log_error(
          "Exception in default exception handler while handling an unexpected error "
          "in custom exception handler");
    }
  }
}

}  // namespace aiocpp
