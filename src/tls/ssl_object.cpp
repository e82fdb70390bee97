// aiocpp::SSLObject: what a TLS transport's get_extra_info("ssl_object") gives.

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "aiocpp/ssl.hpp"

namespace aiocpp {

std::string SSLObject::version() const {
  if (!ssl_ || !SSL_is_init_finished(ssl_)) return {};
  return SSL_get_version(ssl_);
}

std::optional<std::string> SSLObject::selected_alpn_protocol() const {
  if (!ssl_) return std::nullopt;
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  SSL_get0_alpn_selected(ssl_, &data, &size);
  if (size == 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(data), size);
}

std::string SSLObject::getpeercert_der() const {
  if (!ssl_) return {};
  X509* cert = SSL_get1_peer_certificate(ssl_);
  if (!cert) return {};
  unsigned char* der = nullptr;
  int size = i2d_X509(cert, &der);
  std::string out;
  if (size > 0) out.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(size));
  OPENSSL_free(der);
  X509_free(cert);
  return out;
}

std::optional<std::tuple<std::string, std::string, int>> SSLObject::cipher() const {
  if (!ssl_) return std::nullopt;
  const SSL_CIPHER* current = SSL_get_current_cipher(ssl_);
  if (!current) return std::nullopt;
  return std::tuple<std::string, std::string, int>(SSL_CIPHER_get_name(current),
                                                   SSL_CIPHER_get_version(current),
                                                   SSL_CIPHER_get_bits(current, nullptr));
}

}  // namespace aiocpp
