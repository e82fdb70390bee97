#include "core/happy_eyeballs.hpp"

#include <algorithm>
#include <cstring>
#include <memory>

#include "aiocpp/tasks.hpp"

namespace aiocpp::detail {

std::vector<AddrInfo> interleave_addrinfos(std::vector<AddrInfo> infos, int first_family_count) {
  std::vector<std::vector<AddrInfo>> by_family;  // in order of first appearance
  for (auto& info : infos) {
    auto group = std::find_if(by_family.begin(), by_family.end(),
                              [&](const auto& g) { return g.front().family == info.family; });
    if (group == by_family.end()) {
      by_family.push_back({std::move(info)});
    } else {
      group->push_back(std::move(info));
    }
  }
  std::vector<AddrInfo> out;
  std::vector<std::size_t> next(by_family.size(), 0);
  if (!by_family.empty()) {
    for (int i = 1; i < first_family_count && next[0] < by_family[0].size(); ++i) {
      out.push_back(std::move(by_family[0][next[0]++]));
    }
  }
  for (bool more = true; more;) {
    more = false;
    for (std::size_t g = 0; g < by_family.size(); ++g) {
      if (next[g] < by_family[g].size()) {
        out.push_back(std::move(by_family[g][next[g]++]));
        more = true;
      }
    }
  }
  return out;
}

std::system_error combined_connect_error(const std::vector<std::system_error>& errors) {
  if (errors.empty()) return os_error(EADDRNOTAVAIL, "no address to connect to");
  bool same = std::all_of(errors.begin(), errors.end(), [&](const std::system_error& e) {
    return std::strcmp(e.what(), errors.front().what()) == 0;
  });
  if (errors.size() == 1 || same) return errors.front();
  std::string all = "Multiple exceptions: ";
  for (std::size_t i = 0; i < errors.size(); ++i) {
    if (i) all += ", ";
    all += errors[i].what();
  }
  return std::system_error(errors.front().code(), all);
}

namespace {

// Wakes the race when an attempt finishes or the stagger delay passes.
struct Progress {
  Future<void> wake;
  void signal() {
    if (wake.valid() && !wake.done()) wake.set_result();
  }
};

Task<UniqueFd> run_attempt(ConnectAttempt* attempt, AddrInfo target,
                           std::shared_ptr<Progress> progress) {
  std::exception_ptr failure;
  UniqueFd fd;
  try {
    fd = co_await (*attempt)(target);
  } catch (...) {
    failure = std::current_exception();
  }
  progress->signal();
  if (failure) std::rethrow_exception(failure);
  co_return fd;
}

}  // namespace

Task<UniqueFd> staggered_connect(EventLoop& loop, std::vector<AddrInfo> targets, double delay,
                                 ConnectAttempt attempt) {
  auto progress = std::make_shared<Progress>();
  std::vector<Task<UniqueFd>> attempts;
  std::vector<bool> harvested;
  std::vector<std::system_error> errors;
  UniqueFd winner;
  std::exception_ptr interrupted;  // cancellation of the whole race, say
  try {
    while (!winner) {
      if (attempts.size() < targets.size()) {
        attempts.push_back(
            loop.create_task(run_attempt(&attempt, targets[attempts.size()], progress)));
        harvested.push_back(false);
      }
      bool running = false;
      bool fresh = false;  // finished since the last look
      for (std::size_t i = 0; i < attempts.size(); ++i) {
        if (harvested[i]) continue;
        if (!attempts[i].done()) {
          running = true;
          continue;
        }
        harvested[i] = true;
        fresh = true;
        try {
          winner = std::move(attempts[i].result());
          break;
        } catch (const std::system_error& e) {
          errors.push_back(e);
        }
      }
      if (winner) break;
      if (!running && attempts.size() == targets.size()) break;  // all failed
      if (fresh) continue;  // a failure starts the next attempt at once
      progress->wake = loop.create_future<void>();
      TimerHandle stagger;
      if (attempts.size() < targets.size()) {
        auto elapsed = [progress] { progress->signal(); };
        stagger = loop.call_later(delay, elapsed);
      }
      co_await progress->wake;
      stagger.cancel();
    }
  } catch (...) {
    interrupted = std::current_exception();
  }
  // The losers: cancel them and let them close their sockets.
  for (auto& a : attempts) {
    if (!a.done()) a.cancel();
  }
  for (auto& a : attempts) {
    try {
      co_await a;
    } catch (...) {
    }
  }
  if (interrupted) std::rethrow_exception(interrupted);
  if (!winner) throw combined_connect_error(errors);
  co_return winner;
}

}  // namespace aiocpp::detail
