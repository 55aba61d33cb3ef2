package cert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Signature algorithms. SM2 signs with SM3 and the default user id
// (GB/T 32918), as 商用密码 assessments expect.
const (
	AlgEd25519 = "Ed25519"
	AlgSM2     = "SM2"
)

// Algorithms lists the algorithms a key may use.
var Algorithms = []string{AlgEd25519, AlgSM2}

type algorithm struct {
	code     byte
	generate func() (crypto.Signer, error)
	sign     func(priv crypto.Signer, msg []byte) ([]byte, error)
	// verifier prepares a public key for verifying many signatures.
	verifier func(pub crypto.PublicKey) (func(msg, sig []byte) bool, error)
}

var algorithms = map[string]algorithm{
	AlgEd25519: {
		code: 1,
		generate: func() (crypto.Signer, error) {
			_, priv, err := ed25519.GenerateKey(rand.Reader)
			return priv, err
		},
		sign: func(priv crypto.Signer, msg []byte) ([]byte, error) {
			return priv.Sign(nil, msg, crypto.Hash(0))
		},
		// curve25519-voi verifies with the key's tables precomputed, about
		// twice as fast as crypto/ed25519 (offline checks in bulk), and
		// strictly: non-canonical encodings and small-order keys fail.
		verifier: func(pub crypto.PublicKey) (func(msg, sig []byte) bool, error) {
			k, ok := pub.(ed25519.PublicKey)
			if !ok {
				return nil, errors.New("not an Ed25519 key")
			}
			x, err := voied.NewExpandedPublicKey(voied.PublicKey(k))
			if err != nil {
				return nil, err
			}
			return func(msg, sig []byte) bool {
				return len(sig) == ed25519.SignatureSize && voied.VerifyExpandedWithOptions(x, msg, sig, &voied.Options{})
			}, nil
		},
	},
	AlgSM2: {
		code:     2,
		generate: func() (crypto.Signer, error) { return sm2.GenerateKey(rand.Reader) },
		sign: func(priv crypto.Signer, msg []byte) ([]byte, error) {
			k, ok := priv.(*sm2.PrivateKey)
			if !ok {
				return nil, errors.New("cert: not an SM2 private key")
			}
			return k.SignWithSM2(rand.Reader, nil, msg)
		},
		verifier: func(pub crypto.PublicKey) (func(msg, sig []byte) bool, error) {
			k, ok := pub.(*ecdsa.PublicKey)
			if !ok || !sm2.IsSM2PublicKey(k) {
				return nil, errors.New("not an SM2 key")
			}
			return func(msg, sig []byte) bool { return sm2.VerifyASN1WithSM2(k, nil, msg, sig) }, nil
		},
	},
}

func algorithmByCode(code byte) (string, bool) {
	for name, a := range algorithms {
		if a.code == code {
			return name, true
		}
	}
	return "", false
}

// Key is a signing key as published: its id, algorithm and public half.
// A retired key signs nothing new but still verifies what it signed.
type Key struct {
	ID        string    `json:"kid"`
	Alg       string    `json:"alg"`
	Public    []byte    `json:"public_key"` // SubjectPublicKeyInfo, DER (base64 in JSON)
	CreatedAt time.Time `json:"created_at"`
	RetiredAt time.Time `json:"retired_at,omitzero"`

	verify func(msg, sig []byte) bool
}

// Active reports whether the key signs new certificates.
func (k *Key) Active() bool { return k.RetiredAt.IsZero() }

// PEM is the public key in PEM form, for `cert verify --key`.
func (k *Key) PEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: k.Public}))
}

// parse fills the parsed public key and checks that id and algorithm
// belong to it.
func (k *Key) parse() error {
	pub, err := smx509.ParsePKIXPublicKey(k.Public)
	if err != nil {
		return fmt.Errorf("cert: key %s: %w", k.ID, err)
	}
	switch p := pub.(type) {
	case ed25519.PublicKey:
		if k.Alg != AlgEd25519 {
			return fmt.Errorf("cert: key %s is Ed25519, not %s", k.ID, k.Alg)
		}
	case *ecdsa.PublicKey:
		if k.Alg != AlgSM2 || !sm2.IsSM2PublicKey(p) {
			return fmt.Errorf("cert: key %s is not an SM2 key", k.ID)
		}
	default:
		return fmt.Errorf("cert: key %s has an unsupported type %T", k.ID, pub)
	}
	if want := KeyID(k.Public); k.ID != want {
		return fmt.Errorf("cert: key id %s does not match its public key (%s)", k.ID, want)
	}
	if k.verify, err = algorithms[k.Alg].verifier(pub); err != nil {
		return fmt.Errorf("cert: key %s: %w", k.ID, err)
	}
	return nil
}

// KeyID names a public key: the first 8 bytes of the SHA-256 of its DER
// form, in hex. The payload carries the 8 bytes.
func KeyID(publicDER []byte) string {
	sum := sha256.Sum256(publicDER)
	return hex.EncodeToString(sum[:keyIDSize])
}

const keyIDSize = 8

// SigningKey is the private half of the active key.
type SigningKey struct {
	Key
	private crypto.Signer
}

// GenerateKey makes a new signing key for an algorithm.
func GenerateKey(alg string, now time.Time) (*SigningKey, error) {
	a, ok := algorithms[alg]
	if !ok {
		return nil, fmt.Errorf("cert: unknown algorithm %q (want %v)", alg, Algorithms)
	}
	priv, err := a.generate()
	if err != nil {
		return nil, err
	}
	der, err := smx509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, err
	}
	k := &SigningKey{Key: Key{ID: KeyID(der), Alg: alg, Public: der, CreatedAt: now.UTC().Truncate(time.Second)}, private: priv}
	return k, k.Key.parse()
}

// MarshalPrivate encodes the private key as PKCS #8 DER, to be sealed
// before it is stored.
func (k *SigningKey) MarshalPrivate() ([]byte, error) {
	return smx509.MarshalPKCS8PrivateKey(k.private)
}

// ParseSigningKey restores a signing key from its published half and its
// PKCS #8 private key, checking that the two belong together.
func ParseSigningKey(pub Key, pkcs8 []byte) (*SigningKey, error) {
	if err := pub.parse(); err != nil {
		return nil, err
	}
	priv, err := smx509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("cert: key %s: %w", pub.ID, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("cert: key %s: private key of type %T cannot sign", pub.ID, priv)
	}
	der, err := smx509.MarshalPKIXPublicKey(signer.Public())
	if err != nil || KeyID(der) != pub.ID {
		return nil, fmt.Errorf("cert: key %s: private key does not match the public key", pub.ID)
	}
	return &SigningKey{Key: pub, private: signer}, nil
}

// ParsePublicKey reads a published key from PEM or DER.
func ParsePublicKey(b []byte) (*Key, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	pub, err := smx509.ParsePKIXPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("不是可识别的公钥（PEM 或 DER 格式的 SubjectPublicKeyInfo）：%w", err)
	}
	k := &Key{ID: KeyID(b), Public: b}
	switch pub.(type) {
	case ed25519.PublicKey:
		k.Alg = AlgEd25519
	case *ecdsa.PublicKey:
		k.Alg = AlgSM2
	}
	return k, k.parse()
}

// Sign signs a certificate with the key: it sets the algorithm, key id
// and signature.
func (k *SigningKey) Sign(c *Certificate) error {
	c.Alg, c.KeyID = k.Alg, k.ID
	body, err := encodeBody(c)
	if err != nil {
		return err
	}
	sig, err := algorithms[k.Alg].sign(k.private, signedMessage(body))
	if err != nil {
		return fmt.Errorf("cert: sign: %w", err)
	}
	c.Signature = sig
	return nil
}
