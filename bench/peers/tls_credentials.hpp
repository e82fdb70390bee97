#pragma once
// What the TLS echo servers in bench/peers/ share: the cell's TLS settings
// (TLS 1.3 only, TLS_AES_128_GCM_SHA256, no session tickets to resume with)
// on an SSL_CTX, and a throw-away self-signed P-256 certificate made at start
// so that no key material is kept anywhere. The load generator does not
// verify it: the cell measures the record path, not authentication.

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>

namespace peers {

// Sets the cell's TLS settings and a fresh certificate on a server SSL_CTX;
// exits with a message on failure.
inline void use_bench_credentials(SSL_CTX* ctx) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  bool ok = key && cert;
  if (ok) {
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    ok = X509_sign(cert, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, cert) == 1 &&
         SSL_CTX_use_PrivateKey(ctx, key) == 1 &&
         SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
         SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256") == 1;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) {
    std::fprintf(stderr, "peer: could not set up TLS credentials\n");
    std::exit(1);
  }
  SSL_CTX_set_num_tickets(ctx, 0);
}

}  // namespace peers
