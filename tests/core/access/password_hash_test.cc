#include "core/access/password_hash.h"

#include <gtest/gtest.h>

#include "core/access/base64.h"

namespace lepus::access {
namespace {

std::vector<u8> bytes_of(std::string_view text) { return {text.begin(), text.end()}; }

// Hashes made by RabbitMQ 3.10.8 (Debian 12): `rabbitmqctl add_user NAME PASSWORD`, then the
// "password_hash" of `rabbitmqctl export_definitions`.
struct KnownHash {
    std::string_view base64;
    std::string_view password;
};
constexpr KnownHash rabbitmq_hashes[] = {
    {"9gdsHI3YK4tAur58CitXi1rDzM18Q8LhbrygsRazzhMllyjl", "guest"},
    {"TjqP63D+Q6DcDOQ4wQW+6uTUjUM8UAo9xi1WCPQXG8ruieiz", "secret1"},
    {"v0hAAVb78noMCDkPKchm5P/TZn4zc9aJodk1PQgEvObJ7136", "p\xc3\xa4ssw\xc3\xb6rd"},  // pässwörd
    {"h341RYnNYvW9UREQEiCTwPuMBO0CT0XDvV8goqeY6ZY4bvct", ""},
};

TEST(PasswordHashTest, MatchesHashesMadeByRabbitMQ) {
    for (const KnownHash& known : rabbitmq_hashes) {
        SCOPED_TRACE(known.base64);
        std::optional<std::vector<u8>> stored = base64_decode(known.base64);
        ASSERT_TRUE(stored);
        ASSERT_EQ(stored->size(), password_hash_size);
        EXPECT_TRUE(password_matches(*stored, known.password));
        EXPECT_FALSE(password_matches(*stored, std::string(known.password) + "x"));
        EXPECT_FALSE(password_matches(*stored, "wrong"));
    }
}

TEST(PasswordHashTest, RecomputesRabbitMQsHashFromItsSalt) {
    for (const KnownHash& known : rabbitmq_hashes) {
        SCOPED_TRACE(known.base64);
        std::vector<u8> stored = *base64_decode(known.base64);
        PasswordSalt salt{stored[0], stored[1], stored[2], stored[3]};
        EXPECT_EQ(base64_encode(hash_password_with_salt(known.password, salt)), known.base64);
    }
}

TEST(PasswordHashTest, FreshHashesAreSaltedAndCheck) {
    std::vector<u8> first = hash_password("s3cret");
    std::vector<u8> second = hash_password("s3cret");
    ASSERT_EQ(first.size(), password_hash_size);
    EXPECT_TRUE(password_matches(first, "s3cret"));
    EXPECT_TRUE(password_matches(second, "s3cret"));
    EXPECT_FALSE(password_matches(first, "S3cret"));
    // Two hashes of one password share a salt once in 2^32: the same bytes mean no salt.
    EXPECT_NE(first, second);
}

TEST(PasswordHashTest, StoredHashesOfTheWrongSizeMatchNothing) {
    std::vector<u8> good = hash_password("pw");
    const std::vector<std::vector<u8>> bad = {
        {},                                // clear_password
        {good.begin(), good.begin() + 4},  // a salt alone
        {good.begin(), good.end() - 1},    // one byte short
        [&] {
            auto longer = good;
            longer.push_back(0);
            return longer;
        }(),
    };
    for (const std::vector<u8>& stored : bad) {
        EXPECT_FALSE(password_matches(stored, "pw")) << stored.size();
        EXPECT_FALSE(password_matches(stored, "")) << stored.size();
    }
}

TEST(PasswordHashTest, AFlippedBitAnywhereFails) {
    std::vector<u8> stored = *base64_decode(rabbitmq_hashes[0].base64);
    for (usize i = 0; i < stored.size(); ++i) {
        std::vector<u8> corrupted = stored;
        corrupted[i] ^= 0x01;
        EXPECT_FALSE(password_matches(corrupted, "guest")) << "byte " << i;
    }
}

struct Base64Case {
    std::string_view text;
    std::optional<std::string_view> bytes;  // nothing: rejected
};

TEST(Base64Test, DecodesCanonicalPaddedTextOnly) {
    const Base64Case cases[] = {
        {"", ""},
        {"Zg==", "f"},
        {"Zm8=", "fo"},
        {"Zm9v", "foo"},
        {"Zm9vYg==", "foob"},
        {"Zm9vYmE=", "fooba"},
        {"Zm9vYmFy", "foobar"},
        {"+/+/", "\xfb\xff\xbf"},
        {"Zg", std::nullopt},        // unpadded
        {"Zg=", std::nullopt},       // short padding
        {"Z===", std::nullopt},      // three padding characters
        {"Zg==Zg==", std::nullopt},  // padding inside
        {"Zm9v\n", std::nullopt},    // a trailing newline
        {" Zm9v", std::nullopt},     // a leading blank (OpenSSL alone would skip it)
        {"Zm9 ", std::nullopt},      // a blank inside
        {"Zm-v", std::nullopt},      // the URL alphabet
        {"Zm9v=", std::nullopt},     // length not a multiple of four
        {"=Zm9", std::nullopt},
        {"====", std::nullopt},
    };
    for (const Base64Case& c : cases) {
        SCOPED_TRACE(std::string(c.text));
        std::optional<std::vector<u8>> decoded = base64_decode(c.text);
        if (!c.bytes) {
            EXPECT_FALSE(decoded);
            continue;
        }
        ASSERT_TRUE(decoded);
        EXPECT_EQ(*decoded, bytes_of(*c.bytes));
        EXPECT_EQ(base64_encode(*decoded), c.text);
    }
}

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
    std::vector<u8> bytes;
    for (usize length = 0; length < 300; ++length) {
        ASSERT_EQ(base64_decode(base64_encode(bytes)), bytes) << length;
        bytes.push_back(static_cast<u8>(length * 37 + 11));
    }
}

}  // namespace
}  // namespace lepus::access
