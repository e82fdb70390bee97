#pragma once
// A transport's life, written once for every stream, datagram and pipe
// transport of every backend (asyncio's _SelectorTransport with its
// _FlowControlMixin): connection_made scheduled before anything else, fatal
// errors classified and reported, connection_lost called exactly once from
// the loop, release when the loop closes, and write flow control.
//
// A backend's transport derives from this and says only how its bytes move
// and how its descriptor is watched, through the hooks at the end.
//
// Call order, as in asyncio:
//   start() -> [loop] connection_made -> reading ... -> close() / force_close()
//           -> [loop] connection_lost -> descriptor closed, loop's reference dropped

#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include "aiocpp/future.hpp"
#include "aiocpp/protocols.hpp"
#include "aiocpp/transports.hpp"
#include "core/loop_impl.hpp"
#include "core/write_flow.hpp"

namespace aiocpp::detail {

class TransportLifecycle : public LoopResource {
 public:
  // The loop is closing: drop the buffer, close the descriptor (its watcher
  // goes with the backend) and the loop's reference, without callbacks:
  // nothing can run on a closed loop.
  void release_on_loop_close() noexcept final;

 protected:
  explicit TransportLifecycle(LoopImpl& loop) noexcept : loop_(loop) {}
  // Lifetime: self_ keeps a started transport alive until it has been
  // untracked (call_connection_lost, release_on_loop_close), so nothing is
  // left to undo here.
  ~TransportLifecycle() = default;

  // Keeps `self` alive until connection_lost has returned, and schedules
  // call_connection_made(); once it returns, connection_made_done() (start
  // reading), then `waiter` completes. If it throws: fatal_error, and
  // `waiter` fails with the exception.
  void start(std::shared_ptr<BaseTransport> self, Future<void> waiter);

  // close() for a transport that may still have bytes to send: stop reading
  // now, connection_lost once the buffer has drained (drained_while_closing).
  void begin_close();
  // The buffer of a closing transport has drained: connection_lost, once.
  void drained_while_closing();
  // A failure of the transport or of a protocol method: reported to the
  // loop's exception handler (unless is_quiet), then force_close.
  void fatal_error(std::exception_ptr error, const char* message);
  // abort(): drops the buffer, stops all I/O, connection_lost(error), once.
  void force_close(std::exception_ptr error);
  // connection_lost(error) from the loop, later (never on the caller's stack).
  void schedule_connection_lost(std::exception_ptr error);
  void call_connection_lost(std::exception_ptr error);
  // A write after the connection was lost: dropped; `warning` is logged from
  // the fifth on, as asyncio does.
  void count_lost_write(const char* warning);
  // Hands a protocol method's failure to the loop's exception handler.
  void report(const char* message, std::exception_ptr error);

  // Write flow control over write_buffer_size().
  void set_flow_limits(std::optional<std::size_t> high, std::optional<std::size_t> low);
  std::pair<std::size_t, std::size_t> flow_limits() const { return flow_.limits(); }
  void maybe_pause_protocol() { flow_.maybe_pause(write_buffer_size(), loop_, self_, protocol_); }
  void maybe_resume_protocol() { flow_.maybe_resume(write_buffer_size(), loop_, self_, protocol_); }

  // --- what each transport supplies -------------------------------------------------
  // The protocol's connection_made, with the transport as the kind it is.
  virtual void call_connection_made() = 0;
  // What fatal_error says when call_connection_made() throws.
  virtual const char* connection_made_error_message() const noexcept {
    return "Fatal error: protocol.connection_made() call failed.";
  }
  // connection_made has returned: start reading or watching.
  virtual void connection_made_done() = 0;
  // Brings the descriptor's watching in line with the state (closing_,
  // conn_lost_, the buffer...); a failure to watch is handled inside, as a
  // fatal_error.
  virtual void update_watching() = 0;
  virtual std::size_t write_buffer_size() const noexcept { return 0; }
  virtual void drop_write_buffer() noexcept {}
  // Stops watching the descriptor and closes it.
  virtual void close_descriptor() noexcept = 0;
  // The loop is closing: close the descriptor; its watcher goes with the backend.
  virtual void forget_descriptor() noexcept = 0;
  // Just before connection_lost (sendfile's waiters fail here).
  virtual void before_connection_lost() noexcept {}
  // The protocol and the loop's reference are being let go (connection_lost
  // has run, or the loop closed): a server stops counting the connection.
  virtual void released() noexcept {}
  // Whether `error` is not worth the exception handler: a connection failing
  // is not a bug, so asyncio does not report OS errors of sockets.
  virtual bool is_quiet(const std::exception_ptr& error) const noexcept;

  // Read on the data path: a transport checks them on every message.
  // conn_lost_ counts writes made once the transport no longer takes any
  // (asyncio's _conn_lost): non-zero from the moment connection_lost is
  // scheduled, and for a write pipe from write_eof() on.
  int conn_lost_ = 0;
  bool closing_ = false;  // close(), write_eof() on a pipe, abort() or a fatal error
  enum class Lost : std::uint8_t { no, scheduled, called };
  Lost lost_ = Lost::no;  // connection_lost: not yet, on its way, or done
  LoopImpl& loop_;
  std::shared_ptr<BaseProtocol> protocol_;
  // Lifetime: the loop's own reference, from start() until connection_lost
  // has returned (or the loop closes).
  std::shared_ptr<BaseTransport> self_;
  WriteFlowControl flow_;
};

}  // namespace aiocpp::detail
