#pragma once
// Growing a std::string without writing what it adds, for receive buffers:
// std::string::resize zero-fills, and the kernel overwrites the same bytes
// right after. In the streams echo of 100 KiB messages that fill was 4% of
// the server's CPU (bench/README.md).

#include <cstddef>
#include <string>

namespace aiocpp::detail {

// Sets s.size() to n (>= s.size()), keeping s's bytes. The added bytes are
// left as the storage held them where the library allows it (C++23's
// resize_and_overwrite: this function's file is compiled as C++23 where the
// compiler can, see CMakeLists.txt), else zero-filled. Either way the caller
// writes them before anything reads them.
void resize_for_overwrite(std::string& s, std::size_t n);

}  // namespace aiocpp::detail
