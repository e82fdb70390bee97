#pragma once
// Which backend a new loop gets: the one it asks for, else AIOCPP_BACKEND's,
// else the selector; automatic resolved to io_uring or the selector.

#include <memory>
#include <optional>

#include "aiocpp/event_loop.hpp"
#include "core/backend.hpp"

namespace aiocpp::detail {

class LoopImpl;

struct ChosenBackend {
  std::unique_ptr<IoBackend> io;
  Backend kind;  // selector or io_uring, never automatic
};

ChosenBackend make_backend(LoopImpl& loop, const LoopOptions& options);

}  // namespace aiocpp::detail
