#include "tls/test_pki.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace corvid::tls {
namespace {

bssl::UniquePtr<X509> parse_cert(const std::string& pem) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return bssl::UniquePtr<X509>(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

bssl::UniquePtr<EVP_PKEY> parse_key(const std::string& pem) {
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return bssl::UniquePtr<EVP_PKEY>(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

// X509_verify_cert of `leaf` against a store holding `anchor`; returns the
// X509_V_* code (X509_V_OK on success). `host`, when given, is checked too.
int verify(X509* leaf, X509* anchor, const char* host = nullptr) {
    bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
    EXPECT_EQ(X509_STORE_add_cert(store.get(), anchor), 1);
    bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
    EXPECT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr), 1);
    if (host != nullptr) {
        EXPECT_EQ(X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), host,
                                              std::strlen(host)),
                  1);
    }
    int ok = X509_verify_cert(ctx.get());
    int err = X509_STORE_CTX_get_error(ctx.get());
    EXPECT_EQ(ok == 1, err == X509_V_OK) << X509_verify_cert_error_string(err);
    return err;
}

struct sans {
    std::vector<std::string> dns;
    std::vector<std::string> ip;  // raw 4 or 16 bytes
};

sans read_sans(X509* cert) {
    sans out;
    bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return out;
    }
    for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        const ASN1_STRING* s = nullptr;
        if (name->type == GEN_DNS) {
            s = name->d.dNSName;
        } else if (name->type == GEN_IPADD) {
            s = name->d.iPAddress;
        } else {
            ADD_FAILURE() << "unexpected GENERAL_NAME type " << name->type;
            continue;
        }
        std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                          static_cast<size_t>(ASN1_STRING_length(s)));
        (name->type == GEN_DNS ? out.dns : out.ip).push_back(value);
    }
    return out;
}

// Seconds from `from` to `to`.
long long seconds_between(const ASN1_TIME* from, const ASN1_TIME* to) {
    int days = 0;
    int secs = 0;
    EXPECT_EQ(ASN1_TIME_diff(&days, &secs, from, to), 1);
    return static_cast<long long>(days) * 86400 + secs;
}

class TestPki : public ::testing::Test {
  protected:
    void SetUp() override {
        auto ca = test_ca::create();
        ASSERT_TRUE(ca) << ca.error().message();
        ca_.emplace(std::move(*ca));
        ca_cert_ = parse_cert(ca_->cert_pem());
        ASSERT_TRUE(ca_cert_);
    }

    std::optional<test_ca> ca_;
    bssl::UniquePtr<X509> ca_cert_;
};

TEST_F(TestPki, CaIsASelfSignedCertificateAuthority) {
    EXPECT_NE(ca_->cert_pem().find("-----BEGIN CERTIFICATE-----"), std::string::npos);
    EXPECT_GE(X509_check_ca(ca_cert_.get()), 1);
    EXPECT_TRUE(X509_get_key_usage(ca_cert_.get()) & KU_KEY_CERT_SIGN);
    EXPECT_EQ(
        X509_NAME_cmp(X509_get_subject_name(ca_cert_.get()), X509_get_issuer_name(ca_cert_.get())),
        0);
    bssl::UniquePtr<EVP_PKEY> pub(X509_get_pubkey(ca_cert_.get()));
    ASSERT_TRUE(pub);
    EXPECT_EQ(EVP_PKEY_id(pub.get()), EVP_PKEY_EC);
    EXPECT_EQ(X509_verify(ca_cert_.get(), pub.get()), 1);
    // The CA verifies as its own anchor.
    EXPECT_EQ(verify(ca_cert_.get(), ca_cert_.get()), X509_V_OK);
}

TEST_F(TestPki, CaCommonNameIsTheOneGiven) {
    auto ca = test_ca::create("my CA");
    ASSERT_TRUE(ca);
    auto cert = parse_cert(ca->cert_pem());
    ASSERT_TRUE(cert);
    char cn[64] = {};
    ASSERT_GT(
        X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn),
        0);
    EXPECT_STREQ(cn, "my CA");
}

TEST_F(TestPki, IssuedLeafVerifiesAgainstTheCa) {
    auto leaf = ca_->issue(leaf_spec{});
    ASSERT_TRUE(leaf) << leaf.error().message();
    auto cert = parse_cert(leaf->cert_pem);
    auto key = parse_key(leaf->key_pem);
    ASSERT_TRUE(cert);
    ASSERT_TRUE(key);
    EXPECT_NE(leaf->key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get()), X509_V_OK);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get(), "localhost"), X509_V_OK);
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    EXPECT_TRUE(X509_get_extended_key_usage(cert.get()) & XKU_SSL_SERVER);
    EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

TEST_F(TestPki, LeafCarriesTheRequestedSubjectAltNames) {
    auto leaf = ca_->issue(leaf_spec{});
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    sans s = read_sans(cert.get());
    EXPECT_EQ(s.dns, std::vector<std::string>{"localhost"});
    ASSERT_EQ(s.ip.size(), 2u);
    EXPECT_EQ(s.ip[0], std::string("\x7f\x00\x00\x01", 4));
    EXPECT_EQ(s.ip[1], std::string(15, '\0') + "\x01");
    EXPECT_EQ(X509_check_host(cert.get(), "localhost", 9, 0, nullptr), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
    EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
    EXPECT_NE(X509_check_ip_asc(cert.get(), "127.0.0.2", 0), 1);
}

TEST_F(TestPki, CustomNamesAndWrongHost) {
    leaf_spec spec;
    spec.dns_names = {"other.example"};
    spec.ip_addresses = {};
    auto leaf = ca_->issue(spec);
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    sans s = read_sans(cert.get());
    EXPECT_EQ(s.dns, std::vector<std::string>{"other.example"});
    EXPECT_TRUE(s.ip.empty());
    EXPECT_EQ(verify(cert.get(), ca_cert_.get(), "other.example"), X509_V_OK);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get(), "localhost"), X509_V_ERR_HOSTNAME_MISMATCH);
    EXPECT_NE(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
}

TEST_F(TestPki, ValidityWindowFollowsTheOffsets) {
    leaf_spec spec;
    spec.not_before_offset = std::chrono::seconds{-7200};
    spec.not_after_offset = std::chrono::seconds{86400 * 3 + 5};
    auto leaf = ca_->issue(spec);
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    const ASN1_TIME* nb = X509_get0_notBefore(cert.get());
    const ASN1_TIME* na = X509_get0_notAfter(cert.get());
    // Both bounds come from one clock reading, so the window is exact.
    EXPECT_EQ(seconds_between(nb, na), 7200 + 86400 * 3 + 5);
    // And it brackets the present.
    EXPECT_LT(X509_cmp_current_time(nb), 0);
    EXPECT_GT(X509_cmp_current_time(na), 0);
}

TEST_F(TestPki, ExpiredLeafFailsVerification) {
    leaf_spec spec;
    spec.not_before_offset = std::chrono::seconds{-86400 * 2};
    spec.not_after_offset = std::chrono::seconds{-86400};
    auto leaf = ca_->issue(spec);
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    EXPECT_LT(X509_cmp_current_time(X509_get0_notAfter(cert.get())), 0);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get()), X509_V_ERR_CERT_HAS_EXPIRED);
}

TEST_F(TestPki, NotYetValidLeafFailsVerification) {
    leaf_spec spec;
    spec.not_before_offset = std::chrono::seconds{86400};
    spec.not_after_offset = std::chrono::seconds{86400 * 2};
    auto leaf = ca_->issue(spec);
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    EXPECT_GT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get()), X509_V_ERR_CERT_NOT_YET_VALID);
}

TEST_F(TestPki, LeafFromAnotherCaDoesNotVerify) {
    auto other = test_ca::create("another CA");
    ASSERT_TRUE(other);
    auto leaf = other->issue(leaf_spec{});
    ASSERT_TRUE(leaf);
    auto cert = parse_cert(leaf->cert_pem);
    ASSERT_TRUE(cert);
    EXPECT_NE(verify(cert.get(), ca_cert_.get()), X509_V_OK);
}

TEST_F(TestPki, SerialsAreRandomAndPositive) {
    auto a = ca_->issue(leaf_spec{});
    auto b = ca_->issue(leaf_spec{});
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    auto ca_cert = parse_cert(a->cert_pem);
    auto cb_cert = parse_cert(b->cert_pem);
    const ASN1_INTEGER* sa = X509_get0_serialNumber(ca_cert.get());
    const ASN1_INTEGER* sb = X509_get0_serialNumber(cb_cert.get());
    EXPECT_NE(ASN1_INTEGER_cmp(sa, sb), 0);
    EXPECT_EQ(ASN1_STRING_type(sa), V_ASN1_INTEGER);  // not V_ASN1_NEG_INTEGER
    EXPECT_EQ(ASN1_STRING_length(sa), 16);
    EXPECT_NE(a->key_pem, b->key_pem);
}

TEST_F(TestPki, SelfSignedLeafDoesNotVerifyAgainstTheCa) {
    auto leaf = make_self_signed(leaf_spec{});
    ASSERT_TRUE(leaf) << leaf.error().message();
    auto cert = parse_cert(leaf->cert_pem);
    auto key = parse_key(leaf->key_pem);
    ASSERT_TRUE(cert);
    ASSERT_TRUE(key);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
    EXPECT_EQ(X509_check_ca(cert.get()), 0);
    EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(cert.get()), X509_get_issuer_name(cert.get())),
              0);
    EXPECT_EQ(verify(cert.get(), ca_cert_.get()), X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT);
    // Trusted directly, it does verify: that is how a client pins it.
    EXPECT_EQ(verify(cert.get(), cert.get(), "localhost"), X509_V_OK);
    EXPECT_EQ(read_sans(cert.get()).dns, std::vector<std::string>{"localhost"});
}

TEST_F(TestPki, BadIpLiteralIsReported) {
    leaf_spec spec;
    spec.ip_addresses = {"not-an-ip"};
    auto leaf = ca_->issue(spec);
    ASSERT_FALSE(leaf);
    EXPECT_EQ(leaf.error(), tls_errc::bad_credentials);
    auto self = make_self_signed(spec);
    ASSERT_FALSE(self);
    EXPECT_EQ(self.error(), tls_errc::bad_credentials);
}

TEST(TestPkiWriteFile, WritesAndReplaces) {
    auto dir = std::filesystem::temp_directory_path() /
               ("corvid-pki-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                "-" + std::to_string(std::time(nullptr)));
    std::filesystem::create_directories(dir);
    std::string path = (dir / "f.pem").string();
    ASSERT_TRUE(write_file(path, "first contents"));
    ASSERT_TRUE(write_file(path, std::string("a\0b", 3)));
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    EXPECT_EQ(ss.str(), std::string("a\0b", 3));
    auto bad = write_file((dir / "missing" / "f.pem").string(), "x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), std::errc::no_such_file_or_directory);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace corvid::tls
