// Package token reads CentralAuth's tokens without asking CentralAuth.
//
// An access token or an ID token is a JWE encrypted with the organization's
// client secret, which every app of the organization shares, so any of them
// can read it: its payload is {sessionId, user?}, the CentralAuth session
// and, in an ID token, the user. With autologin, one browser has one
// session across all the apps. A Decrypter reads a token to its Claims, or
// says that it is not ours: there is no third answer, so a token that does
// not decrypt can never be mistaken for a failure (see Decrypter.Decrypt).
//
// # Which tokens are read
//
// CentralAuth's Node library reads tokens with jose's jwtDecrypt and the
// UTF-8 bytes of the client secret as the key, so a token may use whatever
// algorithm its header names, as long as jose can use a raw secret with it.
// Of those, this package reads an explicit allow-list, the algorithms whose
// cost does not depend on the token:
//
//   - key management "dir": the secret is the content key, so its length
//     must be the key length of the content encryption: 16 bytes for
//     A128GCM, 24 for A192GCM, 32 for A256GCM and A128CBC-HS256, 48 for
//     A192CBC-HS384, 64 for A256CBC-HS512;
//   - AES key wrap, A128KW, A192KW and A256KW, and its GCM form, A128GCMKW,
//     A192GCMKW and A256GCMKW: the secret is the AES key that wraps the
//     content key, so it must be 16, 24 or 32 bytes, as the name says, and
//     any of the six content encryptions above may follow.
//
// So a 16- or 24-byte secret reads dir and the AES key wraps of its size; a
// 32-byte one also dir with A128CBC-HS256; a 48- or 64-byte one only dir
// with the CBC-HMAC encryption of that key size; any other length, nothing,
// and NewDecrypter refuses it. The fake CentralAuth of this project's tests
// issues {"alg":"dir","enc":"A256GCM"}, which takes a 32-byte secret.
//
// Refused, whatever the secret:
//
//   - PBES2, which jose accepts with a raw secret (its current version only
//     when asked): the token sets the PBKDF2 iteration count, so a forged
//     token costs up to milliseconds of work (jose caps the count at 10,000)
//     before anything is authenticated;
//   - RSA and ECDH, which need a key pair, not a secret;
//   - compression ("zip"): jose dropped it in version 6 (and later brought
//     it back behind a 250 KB cap), tokens this small have no use for it,
//     and it would add a decompression bomb and a length side channel;
//   - critical header extensions ("crit"), which jose refuses too unless
//     told about them, an encrypted key with "dir", which jose refuses and
//     go-jose ignores, and the JWE JSON serialization, which jwtDecrypt does
//     not read.
//
// A token longer than 16 KiB is refused before it is parsed. Real tokens
// are far shorter: the Node library keeps them in a cookie, which browsers
// cap at 4096 bytes, and so does package session's cookie. The bound leaves
// room for a larger user object (or a token sent in a Bearer header), while
// a forged token costs at most 16 KiB of base64, JSON and AES.
package token
