package pii

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"

	"github.com/gongjiang/gongjiang/internal/keyring"
)

func protector(t *testing.T, seed byte) Protector {
	kr, err := keyring.New(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return NewAESGCM(kr)
}

func TestSealOpen(t *testing.T) {
	p := protector(t, 1)
	plain := []byte("370102200501011234")
	a, b := p.Seal(plain, []byte("居民身份证")), p.Seal(plain, []byte("居民身份证"))
	if bytes.Equal(a, b) {
		t.Fatal("sealing is deterministic: equal numbers would be visible")
	}
	if bytes.Contains(a, plain) {
		t.Fatal("plaintext inside sealed value")
	}
	got, err := p.Open(a, []byte("居民身份证"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := p.Open(a, []byte("护照")); err == nil {
		t.Fatal("opened with another document type")
	}
	a[len(a)-1] ^= 1
	if _, err := p.Open(a, []byte("居民身份证")); err == nil {
		t.Fatal("opened altered data")
	}
	if _, err := protector(t, 2).Open(b, []byte("居民身份证")); err == nil {
		t.Fatal("opened with another instance's key")
	}
	for _, junk := range [][]byte{nil, {1}, {9, 1, 2, 3}} {
		if _, err := p.Open(junk, nil); err == nil {
			t.Fatalf("opened junk %v", junk)
		}
	}
}

func TestBlindIndex(t *testing.T) {
	p, q := protector(t, 1), protector(t, 2)
	if p.BlindIndex("x") != p.BlindIndex("x") || p.BlindIndex("x") == p.BlindIndex("y") {
		t.Fatal("blind index not a function of the value")
	}
	if p.BlindIndex("x") == q.BlindIndex("x") {
		t.Fatal("blind index does not depend on the key")
	}
	// Stored registries hold these digests: the format must not drift.
	kr, _ := keyring.New(bytes.Repeat([]byte{1}, 32))
	m := hmac.New(sha256.New, kr.Derive("pii blind index v1", 32))
	m.Write([]byte("居民身份证:370102200501011234"))
	want := hex.EncodeToString(m.Sum(nil)[:16])
	var wg sync.WaitGroup
	for range 8 { // the keyed states are reused across goroutines
		wg.Go(func() {
			for range 100 {
				if got := p.BlindIndex("居民身份证:370102200501011234"); got != want {
					t.Errorf("BlindIndex = %s, want %s", got, want)
					return
				}
				p.BlindIndex("something else")
			}
		})
	}
	wg.Wait()
}

func TestMask(t *testing.T) {
	cases := map[string]string{
		"370102200501011234": "3701**********1234",
		"E12345678":          "E123*5678",
		"H1234567":           "H******7",
		"123":                "***",
		"":                   "",
	}
	for in, want := range cases {
		if got := MaskNumber(in); got != want {
			t.Errorf("MaskNumber(%q) = %q, want %q", in, got, want)
		}
	}
	if MaskName("张三丰") != "张**" || MaskName("李") != "*" {
		t.Error("MaskName")
	}
}
