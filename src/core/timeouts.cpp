// asyncio.Timeout (3.11): a timer that cancels the current task, and an
// exit that turns that one cancellation into TimeoutError.

#include "aiocpp/timeouts.hpp"

#include "aiocpp/event_loop.hpp"

namespace aiocpp {

struct Timeout::State {
  enum class Phase { created, entered, expiring, expired, exited };
  Phase phase = Phase::created;
  std::optional<double> when;
  Handle handler;  // a TimerHandle, or call_soon's Handle for a past deadline
  Task<void> task;

  void on_timeout() {
    task.cancel();
    phase = Phase::expiring;
    handler = Handle();
  }
};

Timeout::Timeout(std::optional<double> when) : state_(std::make_shared<State>()) {
  state_->when = when;
}

std::optional<double> Timeout::when() const { return state_->when; }

bool Timeout::expired() const {
  return state_->phase == State::Phase::expiring || state_->phase == State::Phase::expired;
}

void Timeout::reschedule(std::optional<double> when) {
  State& s = *state_;
  if (s.phase != State::Phase::entered) {
    throw RuntimeError(s.phase == State::Phase::created
                           ? "Cannot change state of a Timeout that was not entered"
                           : "Cannot change state of an expiring or finished Timeout");
  }
  s.when = when;
  if (s.handler) s.handler.cancel();
  s.handler = Handle();
  if (!when) return;
  EventLoop& loop = get_running_loop();
  // The callback holds the state weakly: a Timeout dropped early cancels
  // nothing afterwards.
  std::weak_ptr<State> weak = state_;
  auto fire = [weak] {
    if (auto s = weak.lock()) s->on_timeout();
  };
  if (*when <= loop.time()) {
    s.handler = loop.call_soon(fire);
  } else {
    s.handler = loop.call_at(*when, fire);
  }
}

void Timeout::enter() {
  State& s = *state_;
  if (s.phase != State::Phase::created) throw RuntimeError("Timeout has already been entered");
  s.task = current_task();
  if (!s.task.valid()) throw RuntimeError("Timeout should be used inside a task");
  s.phase = State::Phase::entered;
  reschedule(s.when);
}

bool Timeout::exit(bool cancelled_error) {
  State& s = *state_;
  if (s.handler) {
    s.handler.cancel();
    s.handler = Handle();
  }
  if (s.phase == State::Phase::expiring) {
    s.phase = State::Phase::expired;
    return s.task.uncancel() == 0 && cancelled_error;
  }
  if (s.phase == State::Phase::entered) s.phase = State::Phase::exited;
  return false;
}

Timeout timeout(std::optional<double> delay) {
  if (!delay) return Timeout(std::nullopt);
  return Timeout(get_running_loop().time() + *delay);
}

Timeout timeout_at(std::optional<double> when) { return Timeout(when); }

}  // namespace aiocpp
