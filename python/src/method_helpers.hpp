#pragma once
// What the native halves of the loop's methods share: plain-value arguments
// from Python, and the (transport, protocol) pair they return.

#include <memory>
#include <optional>
#include <string>

#include "aiocpp/protocols.hpp"
#include "py_ref.hpp"

namespace aiocpp::python {

// None / True / False as an optional<bool>.
bool optional_bool(PyObject* value, std::optional<bool>* out);
bool string_of(PyObject* value, std::string* out);
// (transport, protocol) of a bridge's Python objects.
PyRef transport_and_protocol_of(const std::shared_ptr<BaseProtocol>& protocol);

// A converter for future_from_task: any C++ {transport, protocol} result.
inline constexpr auto transport_and_protocol = [](auto& result) {
  return transport_and_protocol_of(result.protocol);
};

}  // namespace aiocpp::python
