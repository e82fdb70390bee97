#include "errors.hpp"

#include <cstring>
#include <new>
#include <string>

#include "aiocpp/errors.hpp"
#include "aiocpp/socket_address.hpp"
#include "runtime.hpp"

namespace aiocpp::python {

namespace {

PyRef make(PyObject* type, const char* message) {
  PyRef result = PyRef::steal(PyObject_CallFunction(type, "s", message));
  if (!result) result = fetch_exception();  // constructing it failed: raise that instead
  return result;
}

// std::system_error::what() is "<what>: <strerror>"; Python's OSError prints
// "[Errno N] <what>" itself, as asyncio's messages do.
std::string without_strerror(const std::system_error& e) {
  std::string what = e.what();
  std::string suffix = ": " + e.code().message();
  if (what.size() > suffix.size() &&
      what.compare(what.size() - suffix.size(), suffix.size(), suffix) == 0) {
    what.resize(what.size() - suffix.size());
  }
  return what;
}

}  // namespace

PyRef fetch_exception() {
  PyObject *type, *value, *traceback;
  PyErr_Fetch(&type, &value, &traceback);
  if (!type) return make(PyExc_SystemError, "error expected but none was set");
  PyErr_NormalizeException(&type, &value, &traceback);
  if (traceback && value) PyException_SetTraceback(value, traceback);
  Py_XDECREF(type);
  Py_XDECREF(traceback);
  return PyRef::steal(value);
}

void throw_python_error() { throw_python_error_object(fetch_exception()); }

void throw_python_error_object(PyRef exception) {
  if (PyObject_TypeCheck(exception.get(), reinterpret_cast<PyTypeObject*>(PyExc_OSError))) {
    int code = 0;
    PyRef errno_value = PyRef::steal(PyObject_GetAttrString(exception.get(), "errno"));
    if (errno_value && PyLong_Check(errno_value.get())) code = PyLong_AsLong(errno_value.get());
    PyErr_Clear();
    throw PyOSError(code, std::move(exception));
  }
  throw PyError(std::move(exception));
}

PyRef to_python(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const PyError& e) {
    return e.exception();
  } catch (const PyOSError& e) {
    return e.exception();
  } catch (const CancelledError& e) {
    if (e.message().empty()) return PyRef::steal(PyObject_CallNoArgs(runtime.cancelled_error));
    return make(runtime.cancelled_error, e.message().c_str());
  } catch (const KeyboardInterrupt&) {
    return PyRef::steal(PyObject_CallNoArgs(PyExc_KeyboardInterrupt));
  } catch (const aiocpp::TimeoutError&) {
    return PyRef::steal(PyObject_CallNoArgs(PyExc_TimeoutError));
  } catch (const InvalidStateError& e) {
    return make(runtime.invalid_state_error, e.what());
  } catch (const SendfileNotAvailableError& e) {
    return make(runtime.sendfile_not_available_error, e.what());
  } catch (const std::system_error& e) {
    bool gai = e.code().category() == gai_category();
    PyRef result =
        PyRef::steal(PyObject_CallFunction(gai ? runtime.gaierror : PyExc_OSError, "is",
                                           e.code().value(), without_strerror(e).c_str()));
    return result ? result : fetch_exception();
  } catch (const aiocpp::TypeError& e) {
    return make(PyExc_TypeError, e.what());
  } catch (const std::invalid_argument& e) {
    return make(PyExc_ValueError, e.what());
  } catch (const std::bad_alloc&) {
    return PyRef::steal(PyObject_CallNoArgs(PyExc_MemoryError));
  } catch (const std::exception& e) {
    return make(PyExc_RuntimeError, e.what());
  } catch (...) {
    return make(PyExc_RuntimeError, "unknown C++ exception");
  }
}

PyObject* set_python_error() {
  PyRef exception = to_python(std::current_exception());
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exception.get())), exception.get());
  return nullptr;
}

bool is_exit_exception(PyObject* exception) {
  return PyErr_GivenExceptionMatches(exception, PyExc_KeyboardInterrupt) ||
         PyErr_GivenExceptionMatches(exception, PyExc_SystemExit);
}

}  // namespace aiocpp::python
