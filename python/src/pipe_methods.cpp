// The native halves of connect_read_pipe, connect_write_pipe,
// subprocess_exec and subprocess_shell (aiocpp/_loop.py checks the arguments
// and turns files and asyncio's stream constants into plain numbers first).

#include "errors.hpp"
#include "future_bridge.hpp"
#include "method_helpers.hpp"
#include "protocol_bridge.hpp"

namespace aiocpp::python {

namespace {

bool strings_of(PyObject* list, std::vector<std::string>* out) {
  PyRef items = PyRef::steal(PySequence_Fast(list, "a list of strings was expected"));
  if (!items) return false;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items.get()); ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(items.get(), i);
    std::string text;
    if (PyBytes_Check(item)) {
      text.assign(PyBytes_AS_STRING(item), static_cast<std::size_t>(PyBytes_GET_SIZE(item)));
    } else if (!string_of(item, &text)) {
      return false;
    }
    out->push_back(std::move(text));
  }
  return true;
}

}  // namespace

// _connect_pipe_native(factory, fd, write): fd is taken over by the transport.
PyObject* loop_connect_pipe_native(PyLoop* self, PyObject* args) {
  PyObject* factory;
  int fd, write;
  if (!PyArg_ParseTuple(args, "Oip", &factory, &fd, &write)) return nullptr;
  if (!check_open(self)) return nullptr;
  try {
    auto cpp_factory = make_bridge_factory<ProtocolBridge>(self, factory);
    if (write) {
      return future_from_task(self, self->loop->connect_write_pipe(std::move(cpp_factory), fd),
                              transport_and_protocol);
    }
    return future_from_task(self, self->loop->connect_read_pipe(std::move(cpp_factory), fd),
                            transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

// _subprocess_native(factory, command, shell, stdin, stdout, stderr, cwd,
//                    env, start_new_session, close_fds, pass_fds)
// command: a list of arguments, or the shell's command string; the streams
// are descriptors or asyncio.subprocess's constants (None as INHERIT, -4);
// env: a list of "NAME=value" or None.
PyObject* loop_subprocess_native(PyLoop* self, PyObject* args) {
  PyObject *factory, *command, *cwd, *env, *pass_fds;
  int shell, in, out, err, new_session, close_fds;
  if (!PyArg_ParseTuple(args, "OOpiiiOOppO", &factory, &command, &shell, &in, &out, &err, &cwd,
                        &env, &new_session, &close_fds, &pass_fds)) {
    return nullptr;
  }
  if (!check_open(self)) return nullptr;
  SubprocessOptions options;
  options.stdin_ = in;
  options.stdout_ = out;
  options.stderr_ = err;
  options.start_new_session = new_session != 0;
  options.close_fds = close_fds != 0;
  if (cwd != Py_None) {
    std::string text;
    if (!string_of(cwd, &text)) return nullptr;
    options.cwd = std::move(text);
  }
  if (env != Py_None) {
    std::vector<std::string> entries;
    if (!strings_of(env, &entries)) return nullptr;
    options.env = std::move(entries);
  }
  PyRef fds = PyRef::steal(PySequence_Fast(pass_fds, "pass_fds must be a sequence"));
  if (!fds) return nullptr;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(fds.get()); ++i) {
    long fd = PyLong_AsLong(PySequence_Fast_GET_ITEM(fds.get(), i));
    if (fd == -1 && PyErr_Occurred()) return nullptr;
    options.pass_fds.push_back(static_cast<int>(fd));
  }
  try {
    auto cpp_factory = make_bridge_factory<SubprocessBridge>(self, factory);
    if (shell) {
      std::string line;
      if (!string_of(command, &line)) return nullptr;
      return future_from_task(
          self, self->loop->subprocess_shell(std::move(cpp_factory), std::move(line), options),
          transport_and_protocol);
    }
    std::vector<std::string> argv;
    if (!strings_of(command, &argv)) return nullptr;
    return future_from_task(
        self, self->loop->subprocess_exec(std::move(cpp_factory), std::move(argv), options),
        transport_and_protocol);
  } catch (...) {
    return set_python_error();
  }
}

}  // namespace aiocpp::python
