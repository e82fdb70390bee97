#pragma once
// PyRef: an owned reference to a Python object (Py_DECREF when dropped), so
// that early returns and exceptions cannot leak one. Every PyRef is made and
// dropped with the GIL held.

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <utility>

namespace aiocpp::python {

class PyRef {
 public:
  PyRef() noexcept = default;
  // Takes over a new reference (what most C API calls return); null is allowed.
  static PyRef steal(PyObject* object) noexcept { return PyRef(object); }
  // Adds a reference of its own to a borrowed one.
  static PyRef borrow(PyObject* object) noexcept {
    Py_XINCREF(object);
    return PyRef(object);
  }
  PyRef(const PyRef& other) noexcept : object_(other.object_) { Py_XINCREF(object_); }
  PyRef(PyRef&& other) noexcept : object_(std::exchange(other.object_, nullptr)) {}
  PyRef& operator=(PyRef other) noexcept {
    std::swap(object_, other.object_);
    return *this;
  }
  ~PyRef() { Py_XDECREF(object_); }

  PyObject* get() const noexcept { return object_; }
  // Hands the reference to the caller (a C API function's return value).
  PyObject* release() noexcept { return std::exchange(object_, nullptr); }
  explicit operator bool() const noexcept { return object_ != nullptr; }
  void reset() noexcept { Py_CLEAR(object_); }

 private:
  explicit PyRef(PyObject* object) noexcept : object_(object) {}
  PyObject* object_ = nullptr;
};

}  // namespace aiocpp::python
