#pragma once
// What the remote command server (seed 000) lets a client run, decided
// without a shell: the rules, and the check of one command line. Header-only
// so that tests/examples_remote_cmd_policy.cpp can test it directly.
//
// The seed's server hands any text from the network to os.popen(), that is
// to a shell. This one runs only commands named on its command line, by their
// absolute path, with the client's words as plain arguments (no shell ever
// sees them), and refuses outright any line holding a shell metacharacter, so
// that a client who expects shell behaviour learns at once that there is none.

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace remote_cmd {

struct Policy {
  std::map<std::string, std::string> allowed;  // command name -> absolute path
  std::string token;                           // the first line must be this
  double time_limit = 5.0;                     // seconds a command may run
  std::size_t max_output = 64 * 1024;          // bytes of output sent back per command
  std::size_t max_line = 1024;                 // bytes in one line from the client
};

struct Verdict {
  bool allowed = false;
  std::string refusal;            // why not, for the client
  std::vector<std::string> argv;  // argv[0] is the absolute path
};

// Characters a shell would give a meaning to, and control characters.
inline bool is_shell_metacharacter(char c) {
  static constexpr std::string_view meta = ";&|<>$`\\\"'*?[](){}!~#";
  unsigned char u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f || meta.find(c) != std::string_view::npos;
}

inline Verdict check_command(const Policy& policy, std::string_view line) {
  Verdict v;
  for (char c : line) {
    if (is_shell_metacharacter(c)) {
      v.refusal = std::string("shell metacharacter '") +
                  (static_cast<unsigned char>(c) < 0x20 ? '?' : c) +
                  "' refused: commands run without a shell";
      return v;
    }
  }
  std::vector<std::string> words;
  for (std::size_t i = 0; i < line.size();) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) words.emplace_back(line.substr(start, i - start));
  }
  if (words.empty()) {
    v.refusal = "empty command";
    return v;
  }
  auto it = policy.allowed.find(words[0]);
  if (it == policy.allowed.end()) {
    v.refusal = "'" + words[0] + "' is not an allowed command";
    return v;
  }
  v.allowed = true;
  v.argv = std::move(words);
  v.argv[0] = it->second;
  return v;
}

// Compares in time that depends only on the lengths, so that a client cannot
// find the token a byte at a time by timing the answers.
inline bool token_matches(std::string_view expected, std::string_view given) {
  unsigned char diff = expected.size() == given.size() ? 0 : 1;
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i] ^
                                       expected[i % (expected.empty() ? 1 : expected.size())]);
  }
  return diff == 0 && !expected.empty();
}

}  // namespace remote_cmd
