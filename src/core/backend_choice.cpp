// Backend names, AIOCPP_BACKEND and Backend::automatic.

#include "core/backend_choice.hpp"

#include <cstdlib>
#include <string>
#include <system_error>

#include "aiocpp/errors.hpp"
#include "proactor/availability.hpp"
#include "proactor/uring_backend.hpp"
#include "selector/epoll_backend.hpp"

namespace aiocpp {

namespace {
constexpr Backend named_backends[] = {Backend::selector, Backend::io_uring, Backend::automatic};
}

std::string_view backend_name(Backend backend) noexcept {
  switch (backend) {
    case Backend::selector:
      return "selector";
    case Backend::io_uring:
      return "io_uring";
    case Backend::automatic:
      return "automatic";
  }
  return "unknown";
}

Backend backend_from_name(std::string_view name) {
  for (Backend backend : named_backends) {
    if (backend_name(backend) == name) return backend;
  }
  throw ValueError("unknown backend '" + std::string(name) +
                   "': the backends are selector, io_uring and automatic");
}

namespace detail {

namespace {

// Read at each loop's creation, not once, so that a program may set it
// before making its loops (as the tests do); a loop is not made per request.
Backend default_backend() {
  const char* value = std::getenv("AIOCPP_BACKEND");
  if (value == nullptr || *value == '\0') return Backend::selector;
  try {
    return backend_from_name(value);
  } catch (const ValueError& e) {
    throw ValueError(std::string("AIOCPP_BACKEND: ") + e.what());
  }
}

}  // namespace

ChosenBackend make_backend(LoopImpl& loop, const LoopOptions& options) {
  Backend backend = options.backend ? *options.backend : default_backend();
  if (backend == Backend::automatic) {
    // The probe is cached per process, so a process that lost io_uring after
    // probing (a seccomp filter installed since, in this process or a
    // forked parent's) still finds out here, when the ring is refused.
    if (io_uring_unavailable_reason().empty()) {
      try {
        return {std::make_unique<UringBackend>(loop, options), Backend::io_uring};
      } catch (const std::system_error&) {
        throw;  // out of descriptors or memory: not a refusal of io_uring
      } catch (const RuntimeError&) {
        // The kernel refused the ring: fall back, as automatic promises.
      }
    }
    backend = Backend::selector;
  }
  if (backend == Backend::io_uring) {
    return {std::make_unique<UringBackend>(loop, options), backend};
  }
  return {std::make_unique<EpollBackend>(loop), Backend::selector};
}

}  // namespace detail
}  // namespace aiocpp
