#pragma once
// Password hashes in RabbitMQ's default format, rabbit_password_hashing_sha256:
//
//   stored = salt (4 random bytes) ‖ SHA-256(salt ‖ password)        36 bytes
//
// carried in definitions as the base64 of those 36 bytes ("password_hash", with
// "hashing_algorithm": "rabbit_password_hashing_sha256"). The password is hashed as the bytes
// the client sent (UTF-8 for every client we know), unnormalised, as RabbitMQ does. Hashes
// move between Lepus and RabbitMQ both ways: a user exported from one logs in on the other.
#include <array>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/types.h"

namespace lepus::access {

inline constexpr usize password_salt_size = 4;
inline constexpr usize password_digest_size = 32;  // SHA-256
inline constexpr usize password_hash_size = password_salt_size + password_digest_size;
inline constexpr std::string_view password_hashing_algorithm = "rabbit_password_hashing_sha256";

using PasswordSalt = std::array<u8, password_salt_size>;

// A fresh salt from OpenSSL's CSPRNG (RAND_bytes), then the hash. The salt only has to differ
// between users and between changes of one user's password; four bytes is RabbitMQ's choice.
std::vector<u8> hash_password(std::string_view password);

// The hash with a given salt: what hash_password computes, for tests and for checking.
std::vector<u8> hash_password_with_salt(std::string_view password, const PasswordSalt& salt);

// Whether `password` hashes to `stored`. A stored hash that is not 36 bytes matches nothing
// (RabbitMQ's clear_password stores an empty one). The digests are compared in constant time
// (CRYPTO_memcmp), so the time taken says nothing about how much of a guess was right.
bool password_matches(std::span<const u8> stored, std::string_view password);

}  // namespace lepus::access
