#pragma once
// A callback's small writes, gathered and sent together (python/README.md,
// "Writes"). asyncio's transport.write() calls send() at once; a framework
// such as aiohttp writes a response's headers and its body separately, which
// makes two system calls where one would do (uvloop gathers them). Here a
// stream transport's write() of bytes, made on the loop's thread while it
// runs, is kept (a reference, no copy) until the loop is about to wait again
// or the callback's code asks the transport anything that depends on it;
// then all of it goes to the native transport in one writelines() (one
// sendmsg). At most `cork_limit` bytes are kept per transport, so that flow
// control (pause_writing) comes as late as one such batch at most.

#include "loop.hpp"
#include "transport.hpp"

namespace aiocpp::python {

inline constexpr Py_ssize_t cork_limit = 16 * 1024;

// transport.write(data) of a stream transport: true when `data` was kept;
// false when the caller must write it itself (after flush_corked).
bool cork(PyTransport* self, PyObject* data);
// Hands what `self` kept to the native transport.
void flush_corked(PyTransport* self);
// Forgets it (the connection is lost).
void drop_corked(PyTransport* self);
// Every transport of the loop: before each wait (LoopImpl::before_poll) and
// when run_forever returns.
void flush_loop_corked(PyLoop* loop);

// Around a stream protocol's data_received / buffer_updated: what the
// protocol writes to its own transport during the call is kept without
// joining the loop's list, and sent when the call returns (or raises). One
// callback's writes still leave together, sooner than before the wait (as
// asyncio sends them during the call), and the bytes they hold are freed at
// once: an echo's next read reuses their memory instead of growing the heap
// by a batch of reads (bench/README.md, "The Python echo's CPU per
// request").
class ReadCallbackCork {
 public:
  explicit ReadCallbackCork(PyObject* transport) noexcept;
  ~ReadCallbackCork();
  ReadCallbackCork(const ReadCallbackCork&) = delete;
  ReadCallbackCork& operator=(const ReadCallbackCork&) = delete;

 private:
  PyTransport* transport_;  // owned reference; null without a transport
};

}  // namespace aiocpp::python
