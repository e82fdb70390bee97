#pragma once
// What the extension looks up once, at import: asyncio's exception types and
// the helpers the Python layer (aiocpp/_loop.py) registers for the cold paths.
// One interpreter per process (Debian's python3 runs no subinterpreters here),
// so plain globals, set by PyInit__native and by _native._register().

#include "py_ref.hpp"

namespace aiocpp::python {

struct Runtime {
  PyObject* cancelled_error = nullptr;               // asyncio.CancelledError
  PyObject* invalid_state_error = nullptr;           // asyncio.InvalidStateError
  PyObject* sendfile_not_available_error = nullptr;  // asyncio.SendfileNotAvailableError
  PyObject* gaierror = nullptr;                      // socket.gaierror
  PyObject* transport_base = nullptr;                // asyncio.Transport
  // asyncio.ReadTransport, WriteTransport, DatagramTransport
  PyObject* read_transport_base = nullptr;
  PyObject* write_transport_base = nullptr;
  PyObject* datagram_transport_base = nullptr;
  PyObject* buffered_protocol = nullptr;  // asyncio.BufferedProtocol
  PyObject* future_type = nullptr;        // asyncio.Future
  PyObject* kwnames_loop = nullptr;       // ("loop",): Future(loop=...)'s keyword
  PyObject* task_type = nullptr;          // asyncio.Task
  PyObject* kwnames_task = nullptr;       // ("loop", "name", "context"): Task(coro, ...)'s
  // Registered by aiocpp._loop: each is called only off the hot path.
  PyObject* check_callback = nullptr;    // (callback, method): raises TypeError
  PyObject* transport_socket = nullptr;  // (fd): a TransportSocket for get_extra_info
  // Interned names of the protocol methods.
  PyObject* str_connection_made = nullptr;
  PyObject* str_data_received = nullptr;
  PyObject* str_eof_received = nullptr;
  PyObject* str_connection_lost = nullptr;
  PyObject* str_pause_writing = nullptr;
  PyObject* str_resume_writing = nullptr;
  PyObject* str_get_buffer = nullptr;
  PyObject* str_buffer_updated = nullptr;
  PyObject* str_datagram_received = nullptr;
  PyObject* str_error_received = nullptr;
  PyObject* str_call_exception_handler = nullptr;
  PyObject* str_report_callback_error = nullptr;
  PyObject* str_report_protocol_error = nullptr;
  PyObject* str_log_slow_callback = nullptr;  // debug mode only
  PyObject* str_slow_callback_duration = nullptr;
  PyObject* str_create_future = nullptr;
  PyObject* str_set_result = nullptr;
  PyObject* str_set_exception = nullptr;
  PyObject* str_cancelled = nullptr;
  PyObject* str_add_done_callback = nullptr;
  // create_task's keywords, the loop's task factory attribute and its Python half.
  PyObject* str_name = nullptr;
  PyObject* str_context = nullptr;
  PyObject* str_task_factory = nullptr;
  PyObject* str_create_task_slow = nullptr;
  // get_extra_info's names.
  PyObject* str_peername = nullptr;
  PyObject* str_sockname = nullptr;
  PyObject* str_pipe = nullptr;
  PyObject* str_socket = nullptr;
};

extern Runtime runtime;

}  // namespace aiocpp::python
