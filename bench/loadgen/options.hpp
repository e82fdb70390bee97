#pragma once
// The load generator's command line: what it accepts, and every argument it
// refuses with a message that says why (an impossible run is an error, never
// a silently adjusted one).

#include <cstddef>
#include <cstdint>
#include <string>

namespace loadgen {

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  int connections = 10;
  std::size_t size = 1024;     // bytes per message
  int depth = 1;               // messages in flight per connection (1: ping-pong)
  double duration = 5.0;       // seconds measured, after the warm-up
  double warmup = 1.0;         // seconds run but not measured
  std::uint64_t requests = 0;  // > 0: a fixed total instead of a duration
  double timeout = 120.0;      // hard bound on the whole run, seconds
  double rate = 0;             // > 0: messages offered per second in all, on a fixed schedule
  bool tls = false;            // TLS 1.3 with AES-128-GCM; the handshake is not measured
};

// Parses argv; prints usage and exits 0 on --help, prints the reason and
// exits 2 on an impossible argument.
Options parse_options(int argc, char** argv);

}  // namespace loadgen
