package keyring

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestLoadFileCreatesPrivateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "instance.key")
	k1, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	k2, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1.AuditSigningKey(), k2.AuditSigningKey()) {
		t.Fatal("reloading the key file gave another key")
	}
}

func TestDerivedKeysDiffer(t *testing.T) {
	k, _ := New(bytes.Repeat([]byte{7}, 32))
	if bytes.Equal(k.Derive("a", 32), k.Derive("b", 32)) {
		t.Fatal("purposes share key material")
	}
}

func TestMalformedKeys(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("not base64!"), 0o600)
	if _, err := LoadFile(bad); err == nil {
		t.Fatal("malformed key file accepted")
	}
	if _, err := Parse("c2hvcnQ="); err == nil {
		t.Fatal("short master key accepted")
	}
	if _, err := New(make([]byte, 16)); err == nil {
		t.Fatal("16-byte master accepted")
	}
}
