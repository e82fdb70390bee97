// Reusing a read's bytes object (read_bytes.hpp).

#include "read_bytes.hpp"

#include <cstring>

#include "errors.hpp"

namespace aiocpp::python {

namespace {

// A spare holding more than twice the data is not handed out: the protocol
// may keep the object, and with it the spare's memory.
bool fits(Py_ssize_t capacity, Py_ssize_t size) { return size <= capacity && capacity <= 2 * size; }

void refill(PyObject* bytes, std::string_view data) {
  auto size = static_cast<Py_ssize_t>(data.size());
  Py_SET_SIZE(bytes, size);
  std::memcpy(PyBytes_AS_STRING(bytes), data.data(), data.size());
  PyBytes_AS_STRING(bytes)[size] = '\0';
  // The hash of the old contents, if someone asked for it: as _PyBytes_Resize.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  reinterpret_cast<PyBytesObject*>(bytes)->ob_shash = -1;
#pragma GCC diagnostic pop
}

}  // namespace

ReadBytes::ReadBytes(PyLoop* loop, std::string_view data) : loop_(loop) {
  auto size = static_cast<Py_ssize_t>(data.size());
  PyObject* spare = loop->spare_bytes;
  if (spare && Py_REFCNT(spare) == 1 && fits(loop->spare_capacity, size)) {
    loop->spare_bytes = nullptr;
    refill(spare, data);
    bytes_ = spare;
    capacity_ = loop->spare_capacity;
    return;
  }
  bytes_ = PyBytes_FromStringAndSize(data.data(), size);
  if (!bytes_) throw_python_error();
  capacity_ = size;
}

ReadBytes::~ReadBytes() {
  // Exact bytes of two bytes or more: CPython's empty and one-byte objects
  // are shared, never ours alone.
  if (Py_REFCNT(bytes_) != 1 || capacity_ < 2) {
    Py_DECREF(bytes_);
    return;
  }
  Py_XDECREF(loop_->spare_bytes);  // the latest read's size is the likeliest next
  loop_->spare_bytes = bytes_;
  loop_->spare_capacity = capacity_;
}

void drop_spare_bytes(PyLoop* loop) { Py_CLEAR(loop->spare_bytes); }

}  // namespace aiocpp::python
