// Gathering a callback's small writes (write_cork.hpp).

#include "write_cork.hpp"

#include <thread>
#include <vector>

#include "errors.hpp"

namespace aiocpp::python {

bool cork(PyTransport* self, PyObject* data) {
  // Exact bytes only: a bytearray or memoryview may change after write()
  // returns, and asyncio has sent or copied it by then.
  if (!PyBytes_CheckExact(data)) return false;
  Py_ssize_t size = PyBytes_GET_SIZE(data);
  PyLoop* loop = self->loop;
  // Another thread's write (or one outside run_forever) would wait for an
  // iteration that may never come.
  if (loop->corking_thread != std::this_thread::get_id()) return false;
  if (self->corked_size + size > cork_limit) return false;
  // What the native write would refuse (after write_eof(), during sendfile)
  // or count as lost, it must see now: the native transport's own state says.
  if (!self->writer->accepts_writes()) return false;
  if (!self->corked) {
    self->corked = Py_NewRef(data);
    // Inside its own read callback, ReadCallbackCork sends it on return.
    if (!self->reading) loop->corked->push_back(Py_NewRef(reinterpret_cast<PyObject*>(self)));
  } else if (PyBytes_CheckExact(self->corked)) {
    PyObject* list = PyList_New(2);
    if (!list) return false;
    PyList_SET_ITEM(list, 0, self->corked);
    PyList_SET_ITEM(list, 1, Py_NewRef(data));
    self->corked = list;
  } else if (PyList_Append(self->corked, data) < 0) {
    PyErr_Clear();
    return false;
  }
  self->corked_size += size;
  return true;
}

void flush_corked(PyTransport* self) {
  if (!self->corked) return;
  PyRef corked = PyRef::steal(self->corked);
  self->corked = nullptr;
  self->corked_size = 0;
  try {
    if (PyBytes_CheckExact(corked.get())) {
      self->writer->write(
          std::string_view(PyBytes_AS_STRING(corked.get()),
                           static_cast<std::size_t>(PyBytes_GET_SIZE(corked.get()))));
      return;
    }
    Py_ssize_t n = PyList_GET_SIZE(corked.get());
    std::vector<std::string_view> chunks;
    chunks.reserve(static_cast<std::size_t>(n));
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* item = PyList_GET_ITEM(corked.get(), i);
      chunks.emplace_back(PyBytes_AS_STRING(item),
                          static_cast<std::size_t>(PyBytes_GET_SIZE(item)));
    }
    self->writer->writelines(chunks);
  } catch (...) {
    // cork() kept only what the native write accepts; should it refuse
    // anyway, nobody is left to raise to.
    set_python_error();
    PyErr_WriteUnraisable(reinterpret_cast<PyObject*>(self));
  }
}

void drop_corked(PyTransport* self) {
  Py_CLEAR(self->corked);
  self->corked_size = 0;
}

void flush_loop_corked(PyLoop* loop) {
  // A flush may call back into Python (pause_writing), which may write again:
  // the list is taken out first. Its storage goes back afterwards, so that
  // the next iteration's writes do not allocate it anew.
  std::vector<PyObject*> batch;
  while (!loop->corked->empty()) {
    batch.swap(*loop->corked);
    for (PyObject* transport : batch) {
      flush_corked(reinterpret_cast<PyTransport*>(transport));
      Py_DECREF(transport);
    }
    batch.clear();
  }
  loop->corked->swap(batch);
}

ReadCallbackCork::ReadCallbackCork(PyObject* transport) noexcept
    : transport_(reinterpret_cast<PyTransport*>(Py_XNewRef(transport))) {
  if (transport_) transport_->reading = true;
}

ReadCallbackCork::~ReadCallbackCork() {
  if (!transport_) return;
  transport_->reading = false;
  flush_corked(transport_);
  Py_DECREF(transport_);
}

}  // namespace aiocpp::python
