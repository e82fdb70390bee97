#pragma once
// What every echo server in bench/peers/ shares, header-only and free of any
// event library: the command line, the port announcement and the byte budget.
//
//   <peer> [--port PORT] [--requests N --size BYTES] [--backend NAME] [--loop-option NAME]
//   <peer> [--port PORT] --size BYTES   (a server that reads whole messages)
//
// PORT 0 (the default) lets the kernel choose; the port actually bound is
// printed alone on the first line of stdout, which the runner reads. With
// --requests, the server exits by itself once it has echoed N messages of
// BYTES bytes (N * BYTES bytes), so that valgrind and strace see a whole,
// clean run. Every server binds 127.0.0.1 only and exits cleanly on SIGINT
// and SIGTERM. --backend (selector, io_uring, automatic) is for the aiocpp
// peers, which pass it to their loop, and so is --loop-option (one of
// LoopOptions' io_uring switches: aiocpp_serve.hpp); the others refuse both.

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace peers {

struct Args {
  int port = 0;
  std::uint64_t stop_after_bytes = 0;  // 0: serve until a signal
  std::uint64_t size = 0;              // --size, 0 if not given
  std::string backend;                 // --backend, for the aiocpp peers ("": the default)
  std::string loop_option;             // --loop-option, for the aiocpp peers ("": none)
};

// Exits 2 with a message on a bad argument (--backend too where `takes_backend` is false).
inline Args parse_args(int argc, char** argv, bool takes_backend = false) {
  const char* prog = argc > 0 ? argv[0] : "peer";
  auto fail = [&](const std::string& message) {
    std::fprintf(stderr, "%s: error: %s\nusage: %s [--port PORT] [--requests N --size BYTES]\n",
                 prog, message.c_str(), prog);
    std::exit(2);
  };
  auto number = [&](std::string_view name, const char* text, unsigned long long hi) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (*text == '\0' || *text == '-' || *end != '\0' || errno != 0 || v > hi) {
      fail(std::string(name) + ": invalid value '" + text + "'");
    }
    return v;
  };
  Args args;
  std::uint64_t requests = 0, size = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view name = argv[i];
    if (name == "-h" || name == "--help") {
      std::printf("usage: %s [--port PORT] [--requests N --size BYTES]\n", prog);
      std::exit(0);
    }
    if (i + 1 >= argc) fail(std::string(name) + " needs a value");
    const char* value = argv[++i];
    if (name == "--port") {
      args.port = static_cast<int>(number(name, value, 65535));
    } else if (name == "--requests") {
      requests = number(name, value, 1ull << 40);
    } else if (name == "--size") {
      size = number(name, value, 1ull << 30);
    } else if (name == "--backend" && takes_backend) {
      args.backend = value;
    } else if (name == "--loop-option" && takes_backend) {
      args.loop_option = value;
    } else {
      fail("unknown option '" + std::string(name) + "'");
    }
  }
  if (requests != 0 && size == 0) fail("--requests needs --size");
  args.stop_after_bytes = requests * size;
  args.size = size;
  return args;
}

// The runner waits for this line before it starts the load.
inline void announce_port(int port) {
  std::printf("%d\n", port);
  std::fflush(stdout);
}

}  // namespace peers
