// The loop's list of resources to release when it closes (its transports):
// an intrusive list, so tracking never allocates.

#include "core/loop_impl.hpp"

namespace aiocpp::detail {

void LoopImpl::track(LoopResource* resource) noexcept { resources_.push_front(resource); }

void LoopImpl::untrack(LoopResource* resource) noexcept { resources_.remove(resource); }

void LoopImpl::release_resources() noexcept {
  // Releasing one resource may free others (a subprocess drops its pipes),
  // which untrack themselves: always restart from the head.
  while (LoopResource* resource = resources_.front()) {
    untrack(resource);
    resource->release_on_loop_close();
  }
}

}  // namespace aiocpp::detail
