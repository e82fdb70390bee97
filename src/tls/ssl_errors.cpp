#include "tls/ssl_errors.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>

#include "aiocpp/ssl.hpp"

namespace aiocpp {

namespace {

class SSLCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ssl"; }
  std::string message(int code) const override {
    switch (code) {
      case SSL_ERROR_SSL:
        return "SSL error";
      case SSL_ERROR_SYSCALL:
        return "SSL system call error";
      case SSL_ERROR_ZERO_RETURN:
        return "TLS/SSL connection has been closed";
      default:
        return "SSL error " + std::to_string(code);
    }
  }
};

// OpenSSL's reason strings are lower case with spaces; Python names them in
// upper case with underscores ("WRONG_VERSION_NUMBER").
std::string reason_name(const char* text) {
  std::string name = text ? text : "UNKNOWN";
  for (char& c : name) c = c == ' ' ? '_' : static_cast<char>(std::toupper(c));
  return name;
}

}  // namespace

const std::error_category& ssl_category() noexcept {
  static const SSLCategory category;
  return category;
}

SSLError::SSLError(int code, std::string library, std::string reason, const std::string& message)
    : std::system_error(code, ssl_category(), message),
      library_(std::move(library)),
      reason_(std::move(reason)),
      what_("[" + library_ + ": " + reason_ + "] " + message) {}

SSLCertVerificationError::SSLCertVerificationError(int code, std::string library,
                                                   std::string reason, const std::string& message,
                                                   long verify_code, std::string verify_message)
    : SSLError(code, std::move(library), std::move(reason), message),
      verify_code_(verify_code),
      verify_message_(std::move(verify_message)) {}

namespace detail {

std::exception_ptr ssl_error(int code, ssl_st* ssl, const std::string& fallback) {
  unsigned long packed = ERR_get_error();
  ERR_clear_error();
  if (packed == 0) {
    return std::make_exception_ptr(SSLError(code, "SSL", "UNKNOWN", fallback));
  }
  const char* lib = ERR_lib_error_string(packed);
  const char* reason = ERR_reason_error_string(packed);
  std::string library = lib && std::string_view(lib) == "SSL routines" ? "SSL" : (lib ? lib : "");
  std::string message = reason ? reason : fallback;
  if (ssl && ERR_GET_REASON(packed) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    long verify = SSL_get_verify_result(ssl);
    std::string verify_message = X509_verify_cert_error_string(verify);
    return std::make_exception_ptr(SSLCertVerificationError(code, library, reason_name(reason),
                                                            message + ": " + verify_message, verify,
                                                            verify_message));
  }
  return std::make_exception_ptr(SSLError(code, library, reason_name(reason), message));
}

void throw_ssl_error(const std::string& fallback) {
  std::rethrow_exception(ssl_error(SSL_ERROR_SSL, nullptr, fallback));
}

}  // namespace detail
}  // namespace aiocpp
