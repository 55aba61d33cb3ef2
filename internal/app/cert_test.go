package app

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gongjiang/gongjiang/internal/audit"
	"github.com/gongjiang/gongjiang/internal/auth"
	"github.com/gongjiang/gongjiang/internal/cert"
	"github.com/gongjiang/gongjiang/internal/keyring"
	"github.com/gongjiang/gongjiang/internal/pii"
	"github.com/gongjiang/gongjiang/internal/store"
	"github.com/gongjiang/gongjiang/internal/storetest"
)

// mainOut runs gongjiang with args as given and returns what it printed.
func mainOut(args ...string) (string, error) {
	var out, errOut bytes.Buffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }}
	err := Main(context.Background(), args, env)
	return out.String() + errOut.String(), err
}

// certCmd runs `gongjiang cert SUB` on the CLI's database.
func (c *cli) certCmd(sub string, args ...string) (string, error) {
	c.t.Helper()
	return mainOut(append([]string{"cert", sub, "--db", c.dsn, "--key-file", c.keyFile}, args...)...)
}

// pemBlocks returns the PEM public keys printed in out, in order.
func pemBlocks(t *testing.T, out string) []string {
	t.Helper()
	var keys []string
	rest := []byte(out)
	for {
		i := bytes.Index(rest, []byte("-----BEGIN"))
		if i < 0 {
			return keys
		}
		b, r := pem.Decode(rest[i:])
		if b == nil {
			t.Fatalf("unreadable PEM in:\n%s", out)
		}
		if b.Type != "PUBLIC KEY" {
			t.Fatalf("printed a %s:\n%s", b.Type, out)
		}
		keys = append(keys, string(pem.EncodeToMemory(b)))
		rest = r
	}
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// flipData changes the character at i of a base64url payload to another
// whose top bit differs: always a data bit, so the decoded bytes change.
func flipData(payload string, i int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	v := strings.IndexByte(alphabet, payload[i])
	return payload[:i] + string(alphabet[v^32]) + payload[i+1:]
}

// TestCertCommands checks certificates offline as a relying party would
// (cert verify with a published key and nothing else), and the operator's
// key commands: cert keys prints the key that signed the demo's
// certificates, cert rotate-key makes a new one while what the old one
// signed keeps verifying with the published key set.
func TestCertCommands(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dsn string) {
		t.Parallel()
		ctx := t.Context()
		c := newCLI(t, dsn)
		if out, err := c.run("", "demo", "--scale", "small"); err != nil || !strings.Contains(out, "毕业证书") {
			t.Fatalf("demo: %q %v", out, err)
		}
		kr, err := keyring.LoadFile(c.keyFile)
		if err != nil {
			t.Fatal(err)
		}
		db, err := store.Open(ctx, dsn, audit.NewSigner(kr.AuditSigningKey()))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		certs, _, err := db.ListCertificates(ctx, cert.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Status: cert.StatusValid, Limit: 2})
		if err != nil || len(certs) < 2 {
			t.Fatalf("the demo's certificates: %v (%d)", err, len(certs))
		}
		old, spare := certs[0], certs[1]
		payload, err := cert.Payload(old)
		if err != nil {
			t.Fatal(err)
		}

		// The key that signed the demo's certificates.
		out, err := c.certCmd("keys")
		if err != nil {
			t.Fatalf("cert keys: %q %v", out, err)
		}
		keys := pemBlocks(t, out)
		if len(keys) != 1 || !strings.Contains(out, old.KeyID) || !strings.Contains(out, cert.AlgEd25519) || !strings.Contains(out, "启用中") {
			t.Fatalf("cert keys printed %d keys, want the active %s (%s):\n%s", len(keys), old.KeyID, old.Alg, out)
		}
		if k, err := cert.ParsePublicKey([]byte(keys[0])); err != nil || k.ID != old.KeyID {
			t.Fatalf("the printed PEM: %v %+v, want key %s", err, k, old.KeyID)
		}
		oldPEM := writeFile(t, "old.pem", []byte(keys[0]))

		verify := func(t *testing.T, input, key string) (string, error) {
			t.Helper()
			return mainOut("cert", "verify", input, "--key", key)
		}
		genuine := func(t *testing.T, out string, err error, c *cert.Certificate) {
			t.Helper()
			if err != nil {
				t.Fatalf("cert verify: %v\n%s", err, out)
			}
			for _, want := range []string{"签名有效", c.KeyID, c.Alg, c.No, c.HolderName, c.IDMasked, c.SchoolName, c.Major, c.GraduationDate,
				"山东省人力资源和社会保障厅", "离线验证", "撤销", "/verify"} {
				if !strings.Contains(out, want) {
					t.Errorf("the report lacks %q:\n%s", want, out)
				}
			}
		}
		refused := func(t *testing.T, out string, err error, says string) {
			t.Helper()
			if !errors.Is(err, ErrCertInvalid) {
				t.Fatalf("err %v, want ErrCertInvalid\n%s", err, out)
			}
			if !strings.Contains(out, "验证失败") || !strings.Contains(out+err.Error(), says) || strings.Contains(out, "签名有效") {
				t.Errorf("the refusal does not say %q:\n%s\n%v", says, out, err)
			}
		}

		t.Run("a genuine payload", func(t *testing.T) {
			out, err := verify(t, payload, oldPEM)
			genuine(t, out, err, old)
		})
		t.Run("the verify URL the QR code holds", func(t *testing.T) {
			out, err := verify(t, cert.VerifyURL("https://gj.example.gov.cn/", payload), oldPEM)
			genuine(t, out, err, old)
		})
		t.Run("a text file with the payload", func(t *testing.T) {
			out, err := verify(t, writeFile(t, "scan.txt", []byte("  "+payload+"\n")), oldPEM)
			genuine(t, out, err, old)
		})
		t.Run("a text file with the URL", func(t *testing.T) {
			out, err := verify(t, writeFile(t, "scan.txt", []byte(cert.VerifyURL("https://gj.example.gov.cn", payload)+"\r\n")), oldPEM)
			genuine(t, out, err, old)
		})
		t.Run("the key first", func(t *testing.T) {
			out, err := mainOut("cert", "verify", "--key", oldPEM, payload)
			genuine(t, out, err, old)
		})
		t.Run("a DER key", func(t *testing.T) {
			b, _ := pem.Decode([]byte(keys[0]))
			out, err := verify(t, payload, writeFile(t, "old.der", b.Bytes))
			genuine(t, out, err, old)
		})
		t.Run("a revoked certificate still has a genuine signature", func(t *testing.T) {
			revoked, _, err := db.ListCertificates(ctx, cert.Filter{Scope: auth.Scope{Kind: auth.ScopeAll}, Status: cert.StatusRevoked, Limit: 1})
			if err != nil || len(revoked) != 1 {
				t.Fatalf("the demo's revoked certificates: %v %d", err, len(revoked))
			}
			p, err := cert.Payload(revoked[0])
			if err != nil {
				t.Fatal(err)
			}
			out, err := verify(t, p, oldPEM)
			genuine(t, out, err, revoked[0]) // and the report says an online check is needed for that
		})
		t.Run("a tampered payload", func(t *testing.T) {
			out, err := verify(t, flipData(payload, len(payload)/2), oldPEM)
			refused(t, out, err, "")
			out, err = verify(t, flipData(payload, len(payload)-1), oldPEM)
			refused(t, out, err, "")
			out, err = verify(t, payload[:len(payload)-10], oldPEM)
			refused(t, out, err, "二维码内容无法识别")
			out, err = verify(t, "<script>alert(1)</script>", oldPEM)
			refused(t, out, err, "二维码内容无法识别")
		})
		t.Run("another name under the old signature", func(t *testing.T) {
			forged := *old
			forged.HolderName = "假" + forged.HolderName
			p, err := cert.Payload(&forged)
			if err != nil {
				t.Fatal(err)
			}
			out, err := verify(t, p, oldPEM)
			refused(t, out, err, "签名验证失败")
		})
		t.Run("a PDF or an image", func(t *testing.T) {
			var pdf bytes.Buffer
			if err := cert.WritePDF(&pdf, old, cert.VerifyURL("https://gj.example.gov.cn", payload)); err != nil {
				t.Fatal(err)
			}
			png, err := cert.QRPNG(cert.VerifyURL("https://gj.example.gov.cn", payload), 240)
			if err != nil {
				t.Fatal(err)
			}
			for name, data := range map[string][]byte{"certificate.pdf": pdf.Bytes(), "qr.png": png} {
				out, err := verify(t, writeFile(t, name, data), oldPEM)
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "zbarimg") {
					t.Errorf("%s: %v\n%s", name, err, out)
				}
			}
		})
		t.Run("usage", func(t *testing.T) {
			for _, args := range [][]string{
				{"cert"},
				{"cert", "frobnicate"},
				{"cert", "verify", payload},
				{"cert", "verify", "--key", oldPEM},
				{"cert", "verify", payload, "--key", oldPEM, "extra"},
			} {
				if out, err := mainOut(args...); !errors.Is(err, ErrUsage) {
					t.Errorf("%q: %v\n%s", args, err, out)
				}
			}
			for name, key := range map[string]string{
				"no such key file":  filepath.Join(t.TempDir(), "missing.pem"),
				"not a key":         writeFile(t, "junk.pem", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")),
				"a key set in bits": writeFile(t, "keys.json", []byte(`{"keys":[{"kid":"00","alg":"Ed25519","public_key":"AAAA"}]}`)),
			} {
				out, err := verify(t, payload, key)
				if err == nil || errors.Is(err, ErrCertInvalid) || strings.Contains(out, "签名有效") {
					t.Errorf("%s: %v\n%s", name, err, out)
				}
			}
		})

		// Rotation: an unknown algorithm is refused, SM2 becomes active.
		if out, err := c.certCmd("rotate-key", "--alg", "rsa"); !errors.Is(err, ErrUsage) {
			t.Fatalf("rotate-key --alg rsa: %v\n%s", err, out)
		}
		out, err = c.certCmd("rotate-key", "--alg", "sm2")
		if err != nil {
			t.Fatalf("rotate-key --alg sm2: %v\n%s", err, out)
		}
		rotated := pemBlocks(t, out)
		if len(rotated) != 1 || !strings.Contains(out, cert.AlgSM2) {
			t.Fatalf("rotate-key printed:\n%s", out)
		}
		newKey, err := cert.ParsePublicKey([]byte(rotated[0]))
		if err != nil || newKey.Alg != cert.AlgSM2 || newKey.ID == old.KeyID || !strings.Contains(out, newKey.ID) {
			t.Fatalf("the new key: %v %+v\n%s", err, newKey, out)
		}
		newPEM := writeFile(t, "new.pem", []byte(rotated[0]))
		out, err = c.certCmd("keys")
		if err != nil {
			t.Fatal(err)
		}
		states := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == "密钥" {
				states[f[1]] = line
			}
		}
		if listed := pemBlocks(t, out); len(listed) != 2 || len(states) != 2 ||
			!strings.Contains(states[newKey.ID], "启用中") || !strings.Contains(states[old.KeyID], "已停用") {
			t.Fatalf("cert keys after rotating, want the new key active and the old one retired:\n%s", out)
		}

		// The key set as /api/v1/public/keys publishes it.
		stored, err := db.CertKeys(ctx)
		if err != nil || len(stored) != 2 {
			t.Fatalf("stored keys: %v (%d)", err, len(stored))
		}
		type published struct {
			cert.Key
			Status string `json:"status"`
			PEM    string `json:"pem"`
		}
		var set struct {
			Keys []published `json:"keys"`
		}
		for _, k := range stored {
			status := "active"
			if !k.Active() {
				status = "retired"
			}
			set.Keys = append(set.Keys, published{Key: k.Key, Status: status, PEM: k.PEM()})
		}
		js, err := json.Marshal(set)
		if err != nil {
			t.Fatal(err)
		}
		keySet := writeFile(t, "keys.json", js)

		t.Run("the old payload with the key set", func(t *testing.T) {
			out, err := verify(t, payload, keySet)
			genuine(t, out, err, old)
			if !strings.Contains(out, "停用") {
				t.Errorf("the report does not say the key is retired:\n%s", out)
			}
		})
		t.Run("the old payload with the new key alone", func(t *testing.T) {
			out, err := verify(t, payload, newPEM)
			refused(t, out, err, old.KeyID)
			if !strings.Contains(out, "不在本系统公布的密钥中") {
				t.Errorf("the refusal does not name an unknown key:\n%s", out)
			}
		})
		t.Run("a certificate signed with SM2", func(t *testing.T) {
			svc := cert.NewService(db, pii.NewAESGCM(kr))
			fresh, err := svc.Reissue(ctx, auth.Principal{Name: "province", Role: auth.RoleProvince}, spare.No, "原证书遗失")
			if err != nil {
				t.Fatalf("reissue after rotating: %v", err)
			}
			if fresh.Alg != cert.AlgSM2 || fresh.KeyID != newKey.ID {
				t.Fatalf("the reissued certificate is signed by %s (%s), want the new SM2 key %s", fresh.KeyID, fresh.Alg, newKey.ID)
			}
			p, err := cert.Payload(fresh)
			if err != nil {
				t.Fatal(err)
			}
			out, err := verify(t, p, newPEM)
			genuine(t, out, err, fresh)
			out, err = verify(t, p, keySet)
			genuine(t, out, err, fresh)
			out, err = verify(t, p, oldPEM)
			refused(t, out, err, newKey.ID)
			out, err = verify(t, flipData(p, len(p)-5), newPEM)
			refused(t, out, err, "")
		})
	})
}
