package outbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"sync"
)

// A sealed token is
//
//	version (1 byte) | key ID (8 bytes) | nonce (12 bytes) | AES-GCM ciphertext and tag
//
// The version and key ID are authenticated along with the entry ID, so a
// sealed token moved to another entry, or an edited header, fails to open.
// The key ID tells "sealed under another key" (an instance configured with
// a different key: leave the entry for one that has it) from "corrupt"
// (drop it). The format, and the key ID's label, are those of the
// redisstore.Queue that sealed tokens itself before the outbox did, so that
// the entries it queued still open.
const (
	sealVersion   = 1
	keyIDLen      = 8
	nonceLen      = 12
	sealHeaderLen = 1 + keyIDLen
	sealOverhead  = sealHeaderLen + nonceLen + 16
)

var (
	errForeignKey = errors.New("it was sealed under another encryption key")
	errCorrupt    = errors.New("its sealed token is corrupt or was tampered with")
)

type sealer struct {
	aead  cipher.AEAD
	keyID [keyIDLen]byte
}

// newSealer takes an AES-128, -192 or -256 key. Its errors never hold the
// key.
func newSealer(key []byte) (*sealer, error) {
	switch len(key) {
	case 16, 24, 32:
	default:
		return nil, configError("encryption key is %d bytes, want 16, 24 or 32 (AES-128, -192 or -256)", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, configError("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, configError("encryption key: %w", err)
	}
	s := &sealer{aead: aead}
	// A PRF of the key, not the key: it names the key without revealing it.
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("centralauth-go/logout redisstore outbox key ID"))
	copy(s.keyID[:], mac.Sum(nil))
	return s, nil
}

// processSealer seals for the Outboxes of a MemoryQueue that were given no
// key. A key drawn once per process is enough there: the entries die with
// the process, and every Outbox in it that shares the queue can open them.
var processSealer = sync.OnceValue(func() *sealer {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	s, err := newSealer(key)
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	return s
})

// seal encrypts token for the entry id.
func (s *sealer) seal(id, token string) []byte {
	out := make([]byte, sealHeaderLen+nonceLen, sealOverhead+len(token))
	out[0] = sealVersion
	copy(out[1:], s.keyID[:])
	nonce := out[sealHeaderLen:]
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	return s.aead.Seal(out, nonce, []byte(token), additionalData(out[:sealHeaderLen], id))
}

// open decrypts what seal returned for the same id. Its errors are
// errForeignKey or errCorrupt, and never hold any of the input.
func (s *sealer) open(id string, sealed []byte) (string, error) {
	if len(sealed) < sealOverhead || sealed[0] != sealVersion {
		return "", errCorrupt
	}
	if !hmac.Equal(sealed[1:sealHeaderLen], s.keyID[:]) {
		return "", errForeignKey
	}
	nonce := sealed[sealHeaderLen : sealHeaderLen+nonceLen]
	plain, err := s.aead.Open(nil, nonce, sealed[sealHeaderLen+nonceLen:], additionalData(sealed[:sealHeaderLen], id))
	if err != nil {
		return "", errCorrupt
	}
	return string(plain), nil
}

func additionalData(header []byte, id string) []byte {
	return append(append([]byte(nil), header...), id...)
}
