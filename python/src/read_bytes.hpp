#pragma once
// The bytes object a read hands to data_received / datagram_received,
// reused from one read to the next when nothing else kept it.
//
// An echo's data_received writes its bytes back and lets them go: once the
// write has left (write_cork.hpp sends it when the call returns), the loop
// holds the only reference, and the next read's data can be copied into the
// same object instead of a new one. A 1 KiB bytes is above glibc's
// per-thread cache (1,032 bytes), so malloc and free cost about 600 of the
// ~4,100 instructions the loop spends per echoed message. Reusing an object
// whose one reference is ours changes nothing any Python code can see (as
// _PyBytes_Resize, which CPython allows on such an object); its cached hash
// is reset.

#include <string_view>

#include "loop.hpp"

namespace aiocpp::python {

class ReadBytes {
 public:
  // A bytes object holding `data`; throws the Python error if none can be made.
  ReadBytes(PyLoop* loop, std::string_view data);
  // Keeps the object as the loop's spare when only this holds it.
  ~ReadBytes();
  ReadBytes(const ReadBytes&) = delete;
  ReadBytes& operator=(const ReadBytes&) = delete;

  PyObject* get() const noexcept { return bytes_; }

 private:
  PyLoop* loop_;
  PyObject* bytes_;
  Py_ssize_t capacity_;  // what the object's memory can hold
};

// The loop is going away: its spare goes too.
void drop_spare_bytes(PyLoop* loop);

}  // namespace aiocpp::python
