// aiocpp::SSLContext: Python's ssl.SSLContext over an SSL_CTX.

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <new>

#include "aiocpp/errors.hpp"
#include "aiocpp/ssl.hpp"
#include "tls/ssl_errors.hpp"

namespace aiocpp {

namespace {

int version_number(TLSVersion version) {
  switch (version) {
    case TLSVersion::TLSv1_2:
      return TLS1_2_VERSION;
    case TLSVersion::TLSv1_3:
      return TLS1_3_VERSION;
    case TLSVersion::MINIMUM_SUPPORTED:
    case TLSVersion::MAXIMUM_SUPPORTED:
      break;
  }
  return 0;  // OpenSSL's "no limit"
}

TLSVersion version_of(long number, TLSVersion unlimited) {
  if (number == TLS1_2_VERSION) return TLSVersion::TLSv1_2;
  if (number == TLS1_3_VERSION) return TLSVersion::TLSv1_3;
  return unlimited;
}

// A server's ALPN choice: the first of its protocols that the client offers;
// none in common is not an error (the handshake goes on without ALPN), as in
// Python.
int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg) {
  const std::string& ours = *static_cast<const std::string*>(arg);
  unsigned char* chosen = nullptr;
  int found =
      SSL_select_next_proto(&chosen, outlen, reinterpret_cast<const unsigned char*>(ours.data()),
                            static_cast<unsigned int>(ours.size()), in, inlen);
  if (found != OPENSSL_NPN_NEGOTIATED || ours.empty()) return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

SSLContext::SSLContext(Protocol protocol)
    : protocol_(protocol),
      ctx_(SSL_CTX_new(protocol == Protocol::TLS_SERVER ? TLS_server_method()
                                                        : TLS_client_method())) {
  if (!ctx_) throw std::bad_alloc();
  // Python's defaults: TLS 1.2 at least; no compression; no renegotiation
  // (asyncio's TLS refuses it: a renegotiation mid-stream would need the
  // transport's reads and writes to cross).
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx_, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // SSL_MODE_RELEASE_BUFFERS, as Python: a connection's 16 KiB record
  // buffers are freed whenever they empty. OpenSSL then mallocs and frees
  // them per record, yet a duel measured no more CPU per request for it
  // (1.006x, 1.006x, 1.024x at 1, 16 and 100 KiB without it): every
  // connection reuses the same few cache-warm blocks instead of keeping
  // about 33 KiB of its own.
  SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  if (protocol == Protocol::TLS_CLIENT) {
    check_hostname_ = true;
    set_verify_mode(VerifyMode::CERT_REQUIRED);
  } else {
    set_verify_mode(VerifyMode::CERT_NONE);
  }
}

SSLContext::~SSLContext() { SSL_CTX_free(ctx_); }

std::shared_ptr<SSLContext> SSLContext::create_default_context(
    Purpose purpose, const std::optional<std::string>& cafile) {
  auto context = std::make_shared<SSLContext>(
      purpose == Purpose::SERVER_AUTH ? Protocol::TLS_CLIENT : Protocol::TLS_SERVER);
  if (cafile) {
    context->load_verify_locations(*cafile);
  } else if (purpose == Purpose::SERVER_AUTH) {
    context->set_default_verify_paths();
  }
  return context;
}

void SSLContext::load_cert_chain(const std::string& certfile, const std::string& keyfile) {
  const std::string& key = keyfile.empty() ? certfile : keyfile;
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(ctx_, certfile.c_str()) != 1) {
    detail::throw_ssl_error("cannot load the certificate chain " + certfile);
  }
  if (SSL_CTX_use_PrivateKey_file(ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    detail::throw_ssl_error("cannot load the private key " + key);
  }
  if (SSL_CTX_check_private_key(ctx_) != 1) {
    detail::throw_ssl_error("the private key does not match the certificate");
  }
}

void SSLContext::load_verify_locations(const std::string& cafile) {
  ERR_clear_error();
  if (SSL_CTX_load_verify_locations(ctx_, cafile.c_str(), nullptr) != 1) {
    detail::throw_ssl_error("cannot load the CA file " + cafile);
  }
}

void SSLContext::set_default_verify_paths() {
  ERR_clear_error();
  if (SSL_CTX_set_default_verify_paths(ctx_) != 1) {
    detail::throw_ssl_error("cannot load the default CA locations");
  }
}

void SSLContext::set_verify_mode(VerifyMode mode) {
  if (mode == VerifyMode::CERT_NONE && check_hostname_) {
    throw ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.");
  }
  int flags = SSL_VERIFY_NONE;
  if (mode == VerifyMode::CERT_OPTIONAL) flags = SSL_VERIFY_PEER;
  if (mode == VerifyMode::CERT_REQUIRED) flags = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  SSL_CTX_set_verify(ctx_, flags, nullptr);
  verify_mode_ = mode;
}

void SSLContext::set_check_hostname(bool enabled) {
  if (enabled && verify_mode_ == VerifyMode::CERT_NONE) set_verify_mode(VerifyMode::CERT_REQUIRED);
  check_hostname_ = enabled;
}

void SSLContext::set_alpn_protocols(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const std::string& p : protocols) {
    if (p.empty() || p.size() > 255) throw ValueError("ALPN protocols must be 1 to 255 bytes");
    wire.push_back(static_cast<char>(p.size()));
    wire += p;
  }
  // SSL_CTX_set_alpn_protos returns 0 on success, unlike its neighbours.
  if (SSL_CTX_set_alpn_protos(ctx_, reinterpret_cast<const unsigned char*>(wire.data()),
                              static_cast<unsigned int>(wire.size())) != 0) {
    detail::throw_ssl_error("cannot set the ALPN protocols");
  }
  alpn_protocols_ = protocols;
  alpn_wire_ = std::move(wire);
  // Lifetime: alpn_wire_ lives as long as this context, and each connection
  // holds the context (SSLProtocol keeps its shared_ptr).
  SSL_CTX_set_alpn_select_cb(ctx_, select_alpn, &alpn_wire_);
}

void SSLContext::set_ciphers(const std::string& ciphers) {
  ERR_clear_error();
  if (SSL_CTX_set_cipher_list(ctx_, ciphers.c_str()) != 1) {
    detail::throw_ssl_error("No cipher can be selected.");
  }
}

TLSVersion SSLContext::minimum_version() const {
  return version_of(SSL_CTX_get_min_proto_version(ctx_), TLSVersion::MINIMUM_SUPPORTED);
}

void SSLContext::set_minimum_version(TLSVersion version) {
  SSL_CTX_set_min_proto_version(ctx_, version_number(version));
}

TLSVersion SSLContext::maximum_version() const {
  return version_of(SSL_CTX_get_max_proto_version(ctx_), TLSVersion::MAXIMUM_SUPPORTED);
}

void SSLContext::set_maximum_version(TLSVersion version) {
  SSL_CTX_set_max_proto_version(ctx_, version_number(version));
}

}  // namespace aiocpp
