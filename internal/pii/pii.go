// Package pii protects personal data at rest: identity numbers are sealed
// with authenticated encryption and found through a keyed blind index, so
// the database never holds them in plain text and equality (the
// one-active-学籍 rule) still works in SQL. The cipher is behind an
// interface so that SM4 can replace AES where a deployment must pass 密评.
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/keyring"
)

// Protector seals, opens and indexes personal values.
type Protector interface {
	// Seal encrypts plain, binding it to aad (e.g. the document type).
	Seal(plain, aad []byte) []byte
	// Open decrypts what Seal produced with the same aad.
	Open(sealed, aad []byte) ([]byte, error)
	// BlindIndex is a keyed, deterministic digest of value for lookups.
	BlindIndex(value string) string
}

// ErrCorrupt is returned when a sealed value does not open.
var ErrCorrupt = errors.New("pii: sealed value does not open (wrong key or altered data)")

// format byte of sealed values, so another cipher or key can follow.
const aesGCMv1 byte = 1

type aesGCM struct {
	aead  cipher.AEAD
	blind sync.Pool // keyed HMAC-SHA-256 states: keying one costs as much as the digest
}

// NewAESGCM returns the default protector: AES-256-GCM and HMAC-SHA-256
// with keys derived from the instance keyring.
func NewAESGCM(kr *keyring.Keyring) Protector {
	block, err := aes.NewCipher(kr.Derive("pii aes-256-gcm v1", 32))
	if err != nil {
		panic("pii: " + err.Error()) // a 32-byte key cannot fail
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("pii: " + err.Error())
	}
	key := kr.Derive("pii blind index v1", 32)
	p := &aesGCM{aead: aead}
	p.blind.New = func() any { return hmac.New(sha256.New, key) }
	return p
}

func (p *aesGCM) Seal(plain, aad []byte) []byte {
	out := make([]byte, 1+p.aead.NonceSize(), 1+p.aead.NonceSize()+len(plain)+p.aead.Overhead())
	out[0] = aesGCMv1
	rand.Read(out[1:])
	return p.aead.Seal(out, out[1:], plain, aad)
}

func (p *aesGCM) Open(sealed, aad []byte) ([]byte, error) {
	n := p.aead.NonceSize()
	if len(sealed) < 1+n+p.aead.Overhead() || sealed[0] != aesGCMv1 {
		return nil, ErrCorrupt
	}
	plain, err := p.aead.Open(nil, sealed[1:1+n], sealed[1+n:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// BlindIndex keeps 128 bits of the HMAC: collisions stay out of reach for
// billions of values, and every index holding it is half the size.
func (p *aesGCM) BlindIndex(value string) string {
	m := p.blind.Get().(hash.Hash)
	defer p.blind.Put(m)
	m.Reset()
	m.Write([]byte(value))
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0])[:16])
}

// MaskNumber shows the first 4 and last 4 characters of a document number
// and stars in between (3701**********1234); short numbers show less.
func MaskNumber(s string) string {
	n := utf8.RuneCountInString(s)
	r := []rune(s)
	switch {
	case n == 0:
		return ""
	case n <= 4:
		return strings.Repeat("*", n)
	case n <= 8:
		return string(r[:1]) + strings.Repeat("*", n-2) + string(r[n-1:])
	}
	return string(r[:4]) + strings.Repeat("*", n-8) + string(r[n-4:])
}

// MaskName keeps the first character of a name (张**).
func MaskName(s string) string {
	r := []rune(s)
	if len(r) <= 1 {
		return "*"
	}
	return string(r[:1]) + strings.Repeat("*", len(r)-1)
}
