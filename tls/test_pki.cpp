#include "tls/test_pki.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <memory>

namespace corvid::tls {

namespace {

constexpr long k_day = 86400;

std::error_code failed() {
    return make_error_code(tls_errc::bad_credentials);
}

bssl::UniquePtr<EVP_PKEY> make_p256_key() {
    bssl::UniquePtr<EC_KEY> ec(EC_KEY_new_by_curve_name(NID_X9_62_prime256v1));
    if (!ec || EC_KEY_generate_key(ec.get()) != 1) {
        return nullptr;
    }
    bssl::UniquePtr<EVP_PKEY> key(EVP_PKEY_new());
    if (!key || EVP_PKEY_assign_EC_KEY(key.get(), ec.get()) != 1) {
        return nullptr;
    }
    ec.release();  // now owned by key
    return key;
}

std::string bio_contents(BIO* bio) {
    const uint8_t* data = nullptr;
    size_t len = 0;
    if (BIO_mem_contents(bio, &data, &len) != 1) {
        return {};
    }
    return std::string(reinterpret_cast<const char*>(data), len);
}

std::string cert_to_pem(X509* cert) {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
        return {};
    }
    return bio_contents(bio.get());
}

std::string key_to_pem(EVP_PKEY* key) {
    bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return {};
    }
    return bio_contents(bio.get());
}

bssl::UniquePtr<X509> cert_from_pem(const std::string& pem) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return nullptr;
    }
    return bssl::UniquePtr<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bssl::UniquePtr<EVP_PKEY> key_from_pem(const std::string& pem) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return nullptr;
    }
    return bssl::UniquePtr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// A random positive 128-bit serial: RFC 5280 allows up to 20 octets, and
// randomness keeps two runs' certificates from colliding in a client cache.
bool set_random_serial(X509* cert) {
    uint8_t bytes[16];
    RAND_bytes(bytes, sizeof bytes);
    bytes[0] &= 0x7f;  // positive
    bytes[0] |= 0x01;  // never zero, never a short encoding
    bssl::UniquePtr<BIGNUM> bn(BN_bin2bn(bytes, sizeof bytes, nullptr));
    if (!bn) {
        return false;
    }
    bssl::UniquePtr<ASN1_INTEGER> serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
    return serial && X509_set_serialNumber(cert, serial.get()) == 1;
}

bool set_common_name(X509_NAME* name, const std::string& cn) {
    return X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      reinterpret_cast<const uint8_t*>(cn.data()),
                                      static_cast<int>(cn.size()), -1, 0) == 1;
}

// The common skeleton: version 3, serial, validity, subject, public key.
// Both validity bounds are offsets from one reading of the clock, so the
// window is exactly as long as the caller asked.
bssl::UniquePtr<X509> new_cert(EVP_PKEY* key, const std::string& cn, long not_before,
                               long not_after) {
    time_t now = std::time(nullptr);  // non-const: the API takes time_t*
    bssl::UniquePtr<X509> cert(X509_new());
    if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
        !set_random_serial(cert.get()) ||
        X509_time_adj_ex(X509_getm_notBefore(cert.get()), 0, not_before, &now) == nullptr ||
        X509_time_adj_ex(X509_getm_notAfter(cert.get()), 0, not_after, &now) == nullptr ||
        !set_common_name(X509_get_subject_name(cert.get()), cn) ||
        X509_set_pubkey(cert.get(), key) != 1) {
        return nullptr;
    }
    return cert;
}

bool add_basic_constraints(X509* cert, bool is_ca) {
    bssl::UniquePtr<BASIC_CONSTRAINTS> bc(BASIC_CONSTRAINTS_new());
    if (!bc) {
        return false;
    }
    bc->ca = is_ca ? 0xff : 0;
    return X509_add1_ext_i2d(cert, NID_basic_constraints, bc.get(), /*crit=*/1,
                             X509V3_ADD_DEFAULT) == 1;
}

bool add_key_usage(X509* cert, std::initializer_list<int> bits) {
    bssl::UniquePtr<ASN1_BIT_STRING> ku(ASN1_BIT_STRING_new());
    if (!ku) {
        return false;
    }
    for (int bit : bits) {
        if (ASN1_BIT_STRING_set_bit(ku.get(), bit, 1) != 1) {
            return false;
        }
    }
    return X509_add1_ext_i2d(cert, NID_key_usage, ku.get(), 1, X509V3_ADD_DEFAULT) == 1;
}

bool add_server_auth_eku(X509* cert) {
    bssl::UniquePtr<EXTENDED_KEY_USAGE> eku(sk_ASN1_OBJECT_new_null());
    if (!eku) {
        return false;
    }
    // OBJ_nid2obj returns a static object; freeing it with the stack is a no-op.
    ASN1_OBJECT* server_auth = OBJ_nid2obj(NID_server_auth);
    if (server_auth == nullptr || sk_ASN1_OBJECT_push(eku.get(), server_auth) == 0) {
        return false;
    }
    return X509_add1_ext_i2d(cert, NID_ext_key_usage, eku.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

bool push_name(GENERAL_NAMES* names, int type, ASN1_STRING* value) {
    bssl::UniquePtr<GENERAL_NAME> name(GENERAL_NAME_new());
    if (!name) {
        ASN1_STRING_free(value);
        return false;
    }
    GENERAL_NAME_set0_value(name.get(), type, value);
    if (sk_GENERAL_NAME_push(names, name.get()) == 0) {
        return false;
    }
    name.release();
    return true;
}

bool add_subject_alt_names(X509* cert, const leaf_spec& spec) {
    if (spec.dns_names.empty() && spec.ip_addresses.empty()) {
        return true;
    }
    bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
    if (!names) {
        return false;
    }
    for (const auto& dns : spec.dns_names) {
        ASN1_IA5STRING* value = ASN1_IA5STRING_new();
        if (value == nullptr ||
            ASN1_STRING_set(value, dns.data(), static_cast<int>(dns.size())) != 1) {
            ASN1_STRING_free(value);
            return false;
        }
        if (!push_name(names.get(), GEN_DNS, value)) {
            return false;
        }
    }
    for (const auto& ip : spec.ip_addresses) {
        ASN1_OCTET_STRING* value = a2i_IPADDRESS(ip.c_str());
        if (value == nullptr) {
            return false;  // not an IPv4 or IPv6 literal
        }
        if (!push_name(names.get(), GEN_IPADD, value)) {
            return false;
        }
    }
    return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

// subjectKeyIdentifier as RFC 5280 4.2.1.2 method (1): SHA-1 of the key
// bits. Strict verifiers (Python's VERIFY_X509_STRICT) want it, and the
// authorityKeyIdentifier of issued leaves points at it.
std::string key_id(X509* cert) {
    const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert);
    if (bits == nullptr) {
        return {};
    }
    uint8_t digest[SHA_DIGEST_LENGTH];
    SHA1(ASN1_STRING_get0_data(bits), static_cast<size_t>(ASN1_STRING_length(bits)), digest);
    return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

bool add_subject_key_id(X509* cert) {
    std::string id = key_id(cert);
    bssl::UniquePtr<ASN1_OCTET_STRING> ski(ASN1_OCTET_STRING_new());
    if (id.empty() || !ski ||
        ASN1_OCTET_STRING_set(ski.get(), reinterpret_cast<const uint8_t*>(id.data()),
                              static_cast<int>(id.size())) != 1) {
        return false;
    }
    return X509_add1_ext_i2d(cert, NID_subject_key_identifier, ski.get(), 0, X509V3_ADD_DEFAULT) ==
           1;
}

bool add_authority_key_id(X509* cert, X509* issuer) {
    std::string id = key_id(issuer);
    bssl::UniquePtr<AUTHORITY_KEYID> aki(AUTHORITY_KEYID_new());
    if (id.empty() || !aki) {
        return false;
    }
    aki->keyid = ASN1_OCTET_STRING_new();
    if (aki->keyid == nullptr ||
        ASN1_OCTET_STRING_set(aki->keyid, reinterpret_cast<const uint8_t*>(id.data()),
                              static_cast<int>(id.size())) != 1) {
        return false;
    }
    return X509_add1_ext_i2d(cert, NID_authority_key_identifier, aki.get(), 0,
                             X509V3_ADD_DEFAULT) == 1;
}

std::string leaf_common_name(const leaf_spec& spec) {
    if (!spec.dns_names.empty()) {
        return spec.dns_names.front();
    }
    if (!spec.ip_addresses.empty()) {
        return spec.ip_addresses.front();
    }
    return "corvid test leaf";
}

// Builds and signs a leaf. With no issuer it signs itself.
result<pem_pair> make_leaf(const leaf_spec& spec, X509* issuer, EVP_PKEY* issuer_key) {
    auto key = make_p256_key();
    if (!key) {
        return failed();
    }
    auto cert = new_cert(key.get(), leaf_common_name(spec),
                         static_cast<long>(spec.not_before_offset.count()),
                         static_cast<long>(spec.not_after_offset.count()));
    if (!cert) {
        return failed();
    }
    X509* signer = issuer != nullptr ? issuer : cert.get();
    EVP_PKEY* signer_key = issuer != nullptr ? issuer_key : key.get();
    bool ok = X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1 &&
              add_basic_constraints(cert.get(), false) && add_server_auth_eku(cert.get()) &&
              add_subject_alt_names(cert.get(), spec) && add_subject_key_id(cert.get());
    // A self-signed leaf carries no keyUsage: with digitalSignature alone,
    // OpenSSL 3 would not treat it as self-issued when a client trusts it
    // directly (it checks keyCertSign on the "issuer").
    if (ok && issuer != nullptr) {
        ok = add_key_usage(cert.get(), {0 /* digitalSignature */}) &&
             add_authority_key_id(cert.get(), issuer);
    }
    if (!ok || X509_sign(cert.get(), signer_key, EVP_sha256()) == 0) {
        return failed();
    }
    pem_pair out{cert_to_pem(cert.get()), key_to_pem(key.get())};
    if (out.cert_pem.empty() || out.key_pem.empty()) {
        return failed();
    }
    return out;
}

}  // namespace

result<test_ca> test_ca::create(std::string common_name) {
    auto key = make_p256_key();
    if (!key) {
        return failed();
    }
    auto cert = new_cert(key.get(), common_name, -k_day, 3650 * k_day);
    if (!cert || X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get())) != 1 ||
        !add_basic_constraints(cert.get(), true) ||
        !add_key_usage(cert.get(), {5 /* keyCertSign */, 6 /* cRLSign */}) ||
        !add_subject_key_id(cert.get()) || X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        return failed();
    }
    std::string cert_pem = cert_to_pem(cert.get());
    std::string key_pem = key_to_pem(key.get());
    if (cert_pem.empty() || key_pem.empty()) {
        return failed();
    }
    return test_ca(std::move(cert_pem), std::move(key_pem));
}

result<pem_pair> test_ca::issue(const leaf_spec& spec) const {
    // The CA is kept as PEM so this header needs no BoringSSL types; parsing
    // it back costs microseconds per issued certificate.
    auto cert = cert_from_pem(cert_pem_);
    auto key = key_from_pem(key_pem_);
    if (!cert || !key) {
        return failed();
    }
    return make_leaf(spec, cert.get(), key.get());
}

result<pem_pair> make_self_signed(const leaf_spec& spec) {
    return make_leaf(spec, nullptr, nullptr);
}

result<void> write_file(const std::string& path, std::string_view contents) {
    std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!file) {
        return std::error_code(errno, std::generic_category());
    }
    if (!contents.empty() &&
        std::fwrite(contents.data(), 1, contents.size(), file.get()) != contents.size()) {
        return std::error_code(errno != 0 ? errno : EIO, std::generic_category());
    }
    if (std::fclose(file.release()) != 0) {
        return std::error_code(errno, std::generic_category());
    }
    return {};
}

}  // namespace corvid::tls
