// aiocpp's log sink: the default exception handler writes here.

#include <cstdio>
#include <mutex>
#include <string>

#include "aiocpp/exception_context.hpp"

namespace aiocpp {
namespace {
std::mutex logger_mutex;
Logger& current_logger() {
  static Logger logger;
  return logger;
}
}  // namespace

void set_logger(Logger logger) {
  std::lock_guard lock(logger_mutex);
  current_logger() = std::move(logger);
}

void log_error(std::string_view line) {
  std::lock_guard lock(logger_mutex);
  if (current_logger()) {
    current_logger()(line);
    return;
  }
  std::string text(line);
  text += '\n';
  std::fwrite(text.data(), 1, text.size(), stderr);
}

}  // namespace aiocpp
