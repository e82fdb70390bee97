#pragma once
// What the remote command server (seed 000) lets a client run, decided
// without a shell: the rules, and the check of one command line. Header-only
// so that tests/examples_remote_cmd.cpp can test it directly.
//
// The seed's server hands any text from the network to os.popen(), that is
// to a shell. This one runs only command lines that match a rule given on
// its command line, by the program's absolute path, with the client's words
// as plain arguments (no shell ever sees them), and refuses outright any line
// holding a shell metacharacter, so that a client who expects shell behaviour
// learns at once that there is none.
//
// A rule (--allow) is a command followed by the exact arguments it may take:
//   date            `date` and nothing else
//   date +%s        exactly `date +%s`
//   sleep {}        `sleep` with exactly one argument, not an option
//   echo ...        `echo` with any number of arguments, none an option
//   id -u {}        literal words (options included) and placeholders, mixed
// An argument starting with '-' is an option: it must be written literally in
// the rule; `{}` and `...` never match one. So `--allow date` does not allow
// `date -s 12:00`, and no placeholder lets `--` or `-e` slip through.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace remote_cmd {

// One --allow entry.
struct Rule {
  std::string name;               // the command as clients type it ("date")
  std::string path;               // the program run ("/usr/bin/date")
  std::vector<std::string> args;  // literal words, or "{}" for one non-option argument
  bool rest = false;              // a trailing "...": any further non-option arguments

  // The rule as given (for refusals): "date +%s", "echo ...".
  std::string text() const {
    std::string out = name;
    for (const auto& a : args) out += " " + a;
    if (rest) out += " ...";
    return out;
  }
};

struct Policy {
  std::vector<Rule> allowed;           // in the order given
  std::string token;                   // the first line must be this
  double time_limit = 5.0;             // seconds a command may run
  std::size_t max_output = 64 * 1024;  // bytes of output sent back per command
  std::size_t max_line = 1024;         // bytes in one line from the client
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

// Words separated by spaces (runs of spaces count as one).
inline std::vector<std::string> split_words(std::string_view line) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < line.size();) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) words.emplace_back(line.substr(start, i - start));
  }
  return words;
}

inline bool is_option(const std::string& word) { return !word.empty() && word.front() == '-'; }

// Parses an --allow entry's arguments (after the command) into `rule`;
// returns what is wrong with them, or "" when they are fine.
inline std::string parse_rule_args(const std::vector<std::string>& words, Rule& rule) {
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (w == "...") {
      if (i + 1 != words.size()) return "'...' must be the last word";
      rule.rest = true;
      break;
    }
    if (w != "{}") {
      for (char c : w) {
        if (is_shell_metacharacter(c))
          return "'" + w + "' can never match: clients may not send '" + c + "'";
      }
    }
    rule.args.push_back(w);
  }
  return "";
}

// Whether `words` (the client's, the command name first) fit `rule`.
inline bool matches(const Rule& rule, const std::vector<std::string>& words) {
  std::size_t given = words.size() - 1;
  if (given < rule.args.size() || (given > rule.args.size() && !rule.rest)) return false;
  for (std::size_t i = 0; i < rule.args.size(); ++i) {
    const std::string& word = words[i + 1];
    if (rule.args[i] == "{}" ? is_option(word) : word != rule.args[i]) return false;
  }
  for (std::size_t i = rule.args.size() + 1; i < words.size(); ++i) {
    if (is_option(words[i])) return false;
  }
  return true;
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
  std::vector<std::string> words = split_words(line);
  if (words.empty()) {
    v.refusal = "empty command";
    return v;
  }
  std::string forms;  // the allowed forms of this command, for the refusal
  for (const Rule& rule : policy.allowed) {
    if (rule.name != words[0]) continue;
    if (matches(rule, words)) {
      v.allowed = true;
      v.argv = std::move(words);
      v.argv[0] = rule.path;
      return v;
    }
    forms += (forms.empty() ? "'" : ", '") + rule.text() + "'";
  }
  if (forms.empty()) {
    v.refusal = "'" + words[0] + "' is not an allowed command";
  } else {
    v.refusal = "these arguments to '" + words[0] + "' are not allowed (allowed: " + forms + ")";
  }
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
