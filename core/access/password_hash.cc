#include "core/access/password_hash.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>

#include "core/base/assert.h"

namespace lepus::access {

std::vector<u8> hash_password(std::string_view password) {
    PasswordSalt salt{};
    // RAND_bytes fails only when OpenSSL's generator cannot be seeded (no getrandom, no
    // /dev/urandom): a host on which no secret could be made, so nothing sensible remains.
    LEPUS_ASSERT_MSG(RAND_bytes(salt.data(), static_cast<int>(salt.size())) == 1,
                     "OpenSSL's random generator failed");
    return hash_password_with_salt(password, salt);
}

std::vector<u8> hash_password_with_salt(std::string_view password, const PasswordSalt& salt) {
    std::vector<u8> hash(password_hash_size);
    std::copy(salt.begin(), salt.end(), hash.begin());
    // EVP, not the SHA256_* functions OpenSSL 3 deprecates. A digest over memory fails only
    // when allocation does.
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    LEPUS_ASSERT(context != nullptr);
    unsigned int digest_size = 0;
    const bool done =
        EVP_DigestInit_ex(context, EVP_sha256(), nullptr) == 1 &&
        EVP_DigestUpdate(context, salt.data(), salt.size()) == 1 &&
        EVP_DigestUpdate(context, password.data(), password.size()) == 1 &&
        EVP_DigestFinal_ex(context, hash.data() + password_salt_size, &digest_size) == 1;
    EVP_MD_CTX_free(context);
    LEPUS_ASSERT(done && digest_size == password_digest_size);
    return hash;
}

bool password_matches(std::span<const u8> stored, std::string_view password) {
    if (stored.size() != password_hash_size) return false;
    PasswordSalt salt{};
    std::copy(stored.begin(), stored.begin() + password_salt_size, salt.begin());
    const std::vector<u8> computed = hash_password_with_salt(password, salt);
    return CRYPTO_memcmp(computed.data() + password_salt_size, stored.data() + password_salt_size,
                         password_digest_size) == 0;
}

}  // namespace lepus::access
