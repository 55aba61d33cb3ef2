// Package keyring holds the instance's secret key material. One 32-byte
// master secret, created on first run, yields every purpose key through
// HKDF, so an instance has a single secret to back up and to share between
// application nodes (file or environment).
package keyring

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// EnvMasterKey names the environment variable that may carry the master
// secret (base64) instead of a key file, e.g. on application nodes.
const EnvMasterKey = "GONGJIANG_MASTER_KEY"

// Keyring derives purpose keys from the master secret.
type Keyring struct {
	master []byte
}

// Parse reads a base64 master secret, as given in GONGJIANG_MASTER_KEY.
func Parse(s string) (*Keyring, error) { return parse(s, EnvMasterKey) }

// LoadFile reads the master secret from path, creating the file with mode
// 0600 when it does not exist yet.
func LoadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return parse(string(b), path)
}

// New returns a keyring over a given master secret (tests and tools).
func New(master []byte) (*Keyring, error) {
	if len(master) != 32 {
		return nil, errors.New("keyring: master secret must be 32 bytes")
	}
	return &Keyring{master: append([]byte(nil), master...)}, nil
}

func parse(s, where string) (*Keyring, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil || len(b) != 32 {
		return nil, fmt.Errorf("keyring: %s does not hold a base64 32-byte master secret", where)
	}
	return &Keyring{master: b}, nil
}

func create(path string) (*Keyring, error) {
	b := make([]byte, 32)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("keyring: create %s: %w", path, err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("keyring: write %s: %w", path, err)
	}
	return &Keyring{master: b}, nil
}

// Derive returns n bytes of key material for purpose.
func (k *Keyring) Derive(purpose string, n int) []byte {
	b, err := hkdf.Key(sha256.New, k.master, nil, "gongjiang "+purpose, n)
	if err != nil {
		panic("keyring: " + err.Error()) // only for n beyond HKDF's limit
	}
	return b
}

// AuditSigningKey is the Ed25519 key that signs audit checkpoints.
func (k *Keyring) AuditSigningKey() ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(k.Derive("audit checkpoint signing v1", ed25519.SeedSize))
}

// KeyID names a public key by the first 8 bytes of its SHA-256.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}
