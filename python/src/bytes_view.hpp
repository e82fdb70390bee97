#pragma once
// The data of write() / sendto(): bytes (the fast path, no buffer protocol),
// bytearray or memoryview, as asyncio accepts; held until the view goes away.

#include <string_view>

#include "py_ref.hpp"

namespace aiocpp::python {

class BytesView {
 public:
  BytesView() = default;
  BytesView(const BytesView&) = delete;
  BytesView& operator=(const BytesView&) = delete;
  ~BytesView() {
    if (held_) PyBuffer_Release(&buffer_);
  }

  // False with a TypeError set for anything else.
  bool get(PyObject* data) {
    if (PyBytes_Check(data)) {
      view_ = std::string_view(PyBytes_AS_STRING(data),
                               static_cast<std::size_t>(PyBytes_GET_SIZE(data)));
      return true;
    }
    if (!PyByteArray_Check(data) && !PyMemoryView_Check(data)) {
      PyErr_Format(PyExc_TypeError, "data argument must be a bytes-like object, not '%.100s'",
                   Py_TYPE(data)->tp_name);
      return false;
    }
    if (PyObject_GetBuffer(data, &buffer_, PyBUF_SIMPLE) < 0) return false;
    held_ = true;
    view_ = std::string_view(static_cast<const char*>(buffer_.buf),
                             static_cast<std::size_t>(buffer_.len));
    return true;
  }
  std::string_view view() const { return view_; }

 private:
  Py_buffer buffer_;
  bool held_ = false;
  std::string_view view_;
};

}  // namespace aiocpp::python
