#pragma once
// Building aiocpp's SSLError from OpenSSL's thread-local error queue, with
// Python's wording.

#include <exception>
#include <string>

struct ssl_st;

namespace aiocpp::detail {

// The error at the head of OpenSSL's queue (the queue is then cleared), as an
// SSLError with SSL_get_error's `code`; an SSLCertVerificationError when
// `ssl`'s certificate check failed. `fallback` is the message when the queue
// is empty.
std::exception_ptr ssl_error(int code, ssl_st* ssl, const std::string& fallback);

// Throws the head of OpenSSL's queue as an SSLError (context calls).
[[noreturn]] void throw_ssl_error(const std::string& fallback);

}  // namespace aiocpp::detail
