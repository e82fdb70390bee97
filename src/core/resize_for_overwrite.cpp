// Compiled as C++23 where the compiler can (CMakeLists.txt), for
// std::string::resize_and_overwrite; the rest of the library stays C++20.

#include "core/resize_for_overwrite.hpp"

namespace aiocpp::detail {

void resize_for_overwrite(std::string& s, std::size_t n) {
#if defined(__cpp_lib_string_resize_and_overwrite)
  // The operation writes nothing and keeps all n bytes. The standard asks
  // that it leave no indeterminate byte in what it keeps; these are never
  // read before a receive or a copy writes them (every reader of the
  // StreamReader's buffer stops at its end_), which is the trade Abseil's
  // STLStringResizeUninitialized makes too.
  s.resize_and_overwrite(n, [](char*, std::size_t size) noexcept { return size; });
#else
  s.resize(n);
#endif
}

}  // namespace aiocpp::detail
