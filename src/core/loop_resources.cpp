// The loop's list of resources to release when it closes (its transports):
// an intrusive list, so tracking never allocates.

#include "core/loop_impl.hpp"

namespace aiocpp::detail {

void LoopImpl::track(LoopResource* resource) noexcept {
  resource->resource_prev = nullptr;
  resource->resource_next = resources_;
  if (resources_) resources_->resource_prev = resource;
  resources_ = resource;
}

void LoopImpl::untrack(LoopResource* resource) noexcept {
  if (resource->resource_prev) {
    resource->resource_prev->resource_next = resource->resource_next;
  } else if (resources_ == resource) {
    resources_ = resource->resource_next;
  } else {
    return;  // not tracked
  }
  if (resource->resource_next) resource->resource_next->resource_prev = resource->resource_prev;
  resource->resource_prev = resource->resource_next = nullptr;
}

void LoopImpl::release_resources() noexcept {
  // Releasing one resource may free others (a subprocess drops its pipes),
  // which untrack themselves: always restart from the head.
  while (resources_) {
    LoopResource* resource = resources_;
    untrack(resource);
    resource->release_on_loop_close();
  }
}

}  // namespace aiocpp::detail
