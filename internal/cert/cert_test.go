package cert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/student"
)

var testNow = time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)

// sample is a realistic certificate: a 3-character name, an 18-character
// masked ID, a 10-character school and an 8-character major.
func sample() *Certificate {
	return &Certificate{
		Kind: KindGraduation, No: NewNumber(2026, "37"), HolderName: "张晓明", IDMasked: "3701**********123X",
		SchoolName: "日照市岚山区技工学校", Major: "智能制造技术应用", ClassLevel: "高级工班", StudyMode: student.ModeFullTime,
		EntryDate: "2023-09-01", GraduationDate: "2026-06-30", IssueDate: "2026-07-01", ProvinceCode: "37",
	}
}

func mustKey(t testing.TB, alg string) *SigningKey {
	t.Helper()
	k, err := GenerateKey(alg, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustKeySet(t testing.TB, keys ...*SigningKey) KeySet {
	t.Helper()
	pubs := make([]Key, len(keys))
	for i, k := range keys {
		pubs[i] = k.Key
	}
	ks, err := NewKeySet(pubs)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

// signed returns a signed copy of c and its payload.
func signed(t testing.TB, k *SigningKey, c *Certificate) (*Certificate, string) {
	t.Helper()
	cp := *c
	if err := k.Sign(&cp); err != nil {
		t.Fatal(err)
	}
	p, err := Payload(&cp)
	if err != nil {
		t.Fatal(err)
	}
	return &cp, p
}

func codeOf(err error) apperr.Code { return apperr.CodeOf(err) }

func TestNumberCheckDigitISO7064(t *testing.T) {
	// ISO 7064 MOD 11,10 check digits worked by hand: the digit that
	// makes the whole string reduce to 1.
	verify := func(s string) bool {
		p := 10
		for i := 0; i < len(s); i++ {
			x := (p + int(s[i]-'0')) % 10
			if x == 0 {
				x = 10
			}
			if i == len(s)-1 {
				return x == 1
			}
			p = (2 * x) % 11
		}
		return false
	}
	for range 2000 {
		n := NewNumber(2026, "37")
		if !verify(n) {
			t.Fatalf("%s does not satisfy ISO 7064 MOD 11,10", n)
		}
	}
}

func TestNormalizeNumber(t *testing.T) {
	for i := range 10_000 {
		year, prov := 2000+i%50, []string{"11", "37", "65"}[i%3]
		n := NewNumber(year, prov)
		if len(n) != noLength || !strings.HasPrefix(n, fmt.Sprintf("%04d%s", year, prov)) {
			t.Fatalf("NewNumber(%d, %s) = %q", year, prov, n)
		}
		if got, ok := NormalizeNumber(n); !ok || got != n {
			t.Fatalf("NormalizeNumber(%q) = %q, %v", n, got, ok)
		}
	}

	// Every wrong digit in every position is caught.
	for range 200 {
		n := NewNumber(2026, "37")
		for pos := range noLength {
			for d := byte('0'); d <= '9'; d++ {
				if d == n[pos] {
					continue
				}
				bad := n[:pos] + string(d) + n[pos+1:]
				if _, ok := NormalizeNumber(bad); ok {
					t.Fatalf("%s (from %s, position %d) accepted", bad, n, pos)
				}
			}
		}
	}

	n := NewNumber(2026, "37")
	cases := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", n, n, true},
		{"spaces", n[:4] + " " + n[4:6] + " " + n[6:12] + " " + n[12:], n, true},
		{"dashes", n[:4] + "-" + n[4:6] + "-" + n[6:12] + "-" + n[12:], n, true},
		{"full-width spaces", "\u3000" + n[:9] + "\u3000" + n[9:] + "\u3000", n, true},
		{"tabs and newline", "\t" + n + "\n", n, true},
		{"mixed", " " + n[:6] + " - " + n[6:] + " ", n, true},
		{"letter in the middle", n[:8] + "A" + n[9:], "", false},
		{"X as check digit", n[:17] + "X", "", false},
		{"lower-case x", n[:17] + "x", "", false},
		{"17 digits", n[:17], "", false},
		{"19 digits", n + "0", "", false},
		{"empty", "", "", false},
		{"only separators", " - \u3000 ", "", false},
		{"full-width digits", strings.Map(func(r rune) rune { return r - '0' + '０' }, n), "", false},
		{"dot separators", n[:6] + "." + n[6:], "", false},
		{"sql", "' OR 1=1 --", "", false},
	}
	for _, tc := range cases {
		got, ok := NormalizeNumber(tc.in)
		if ok != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("%s: NormalizeNumber(%q) = %q, %v; want %q, %v", tc.name, tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// Random digits: many draws for one year and province are distinct, and a
// number says nothing about the next one.
func TestNewNumberUnguessable(t *testing.T) {
	const draws = 10_000
	seen := make(map[string]bool, draws)
	var prev string
	sequential, repeats := 0, 0
	for range draws {
		n := NewNumber(2026, "37")
		r := n[6:17]
		if seen[r] {
			repeats++
		}
		seen[r] = true
		if prev != "" && r > prev {
			sequential++
		}
		prev = r
	}
	// 10,000 draws from 10^11 repeat once with probability about 1/2000
	// (the birthday bound), twice about 1/10^7: one repeat is luck, more
	// is a weak generator.
	if repeats > 1 {
		t.Fatalf("%d repeated numbers within %d draws", repeats, draws)
	}
	if repeats == 1 {
		t.Logf("one repeated number within %d draws (expected about once in 2,000 runs)", draws)
	}
	// Increasing about half the time, as random draws are.
	if sequential < draws*4/10 || sequential > draws*6/10 {
		t.Fatalf("%d of %d draws were larger than the one before: not random", sequential, draws)
	}
}

func sameCert(t *testing.T, got, want *Certificate) {
	t.Helper()
	pairs := [][3]string{
		{"no", got.No, want.No}, {"kind", got.Kind, want.Kind}, {"name", got.HolderName, want.HolderName},
		{"id", got.IDMasked, want.IDMasked}, {"school", got.SchoolName, want.SchoolName}, {"major", got.Major, want.Major},
		{"class level", got.ClassLevel, want.ClassLevel}, {"study mode", got.StudyMode, want.StudyMode},
		{"province", got.ProvinceCode, want.ProvinceCode}, {"entry", got.EntryDate, want.EntryDate},
		{"graduation", got.GraduationDate, want.GraduationDate}, {"issue", got.IssueDate, want.IssueDate},
		{"alg", got.Alg, want.Alg}, {"key id", got.KeyID, want.KeyID},
	}
	for _, p := range pairs {
		if p[1] != p[2] {
			t.Errorf("%s: got %q, want %q", p[0], p[1], p[2])
		}
	}
	if !bytes.Equal(got.Signature, want.Signature) {
		t.Errorf("signature differs")
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			k := mustKey(t, alg)
			if k.Alg != alg || len(k.ID) != 2*keyIDSize || !k.Active() {
				t.Fatalf("key %+v", k.Key)
			}
			ks := mustKeySet(t, k)
			variants := []func(*Certificate){
				func(*Certificate) {},
				func(c *Certificate) {
					c.HolderName, c.StudyMode = "阿卜杜热合曼·买买提", student.ModePartTime
				},
				func(c *Certificate) { c.HolderName, c.IDMasked = "欧阳娜娜", "E1**********5" },
				func(c *Certificate) { c.ProvinceCode, c.No = "11", NewNumber(2026, "11") },
				func(c *Certificate) {
					c.EntryDate, c.GraduationDate, c.IssueDate = "1970-01-01", "1999-12-31", "2100-02-28"
				},
			}
			for _, level := range refdata.ClassLevelNames() {
				variants = append(variants, func(c *Certificate) { c.ClassLevel = level })
			}
			for i, edit := range variants {
				c := sample()
				edit(c)
				sc, p := signed(t, k, c)
				if sc.Alg != alg || sc.KeyID != k.ID || len(sc.Signature) == 0 {
					t.Fatalf("variant %d: signed %+v", i, sc)
				}
				got, key, err := ks.Verify(p)
				if err != nil {
					t.Fatalf("variant %d: Verify: %v", i, err)
				}
				if key.ID != k.ID || key.Alg != alg {
					t.Errorf("variant %d: verified by %s/%s", i, key.ID, key.Alg)
				}
				sameCert(t, got, sc)
				// The verify URL and surrounding white space verify too.
				if _, _, err := ks.Verify("  " + VerifyURL("https://xj.hrss.example.gov.cn/", p) + "\r\n"); err != nil {
					t.Fatalf("variant %d: verify URL: %v", i, err)
				}
			}
		})
	}
}

func TestPayloadRefusesWhatCannotBeEncoded(t *testing.T) {
	k := mustKey(t, AlgEd25519)
	cases := map[string]func(*Certificate){
		"class level":    func(c *Certificate) { c.ClassLevel = "博士班" },
		"study mode":     func(c *Certificate) { c.StudyMode = "函授" },
		"province":       func(c *Certificate) { c.ProvinceCode = "3" },
		"province text":  func(c *Certificate) { c.ProvinceCode = "SD" },
		"province 00":    func(c *Certificate) { c.ProvinceCode = "00" },
		"date format":    func(c *Certificate) { c.IssueDate = "2026/07/01" },
		"date pre-1970":  func(c *Certificate) { c.EntryDate = "1969-12-31" },
		"field too long": func(c *Certificate) { c.Major = strings.Repeat("维", maxField) },
	}
	for name, edit := range cases {
		c := sample()
		edit(c)
		if err := k.Sign(c); err == nil {
			t.Errorf("%s: signed %+v", name, c)
		}
	}
}

// fieldEdits change one signed field each, to another value that still
// decodes: the signature is what must refuse them. k signed c; other is
// another published key.
var fieldEdits = []struct {
	name string
	edit func(t *testing.T, c *Certificate, k, other *SigningKey)
}{
	{"number", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.No = NewNumber(2026, "37") }},
	{"number one digit", func(_ *testing.T, c *Certificate, _, _ *SigningKey) {
		c.No = c.No[:10] + string('0'+(c.No[10]-'0'+1)%10) + c.No[11:]
	}},
	{"name", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.HolderName = "张晓鸣" }},
	{"name appended", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.HolderName += " " }},
	{"masked id", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.IDMasked = "3701**********1234" }},
	{"school", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.SchoolName = "青岛市高级技工学校" }},
	{"major", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.Major = "汽车维修" }},
	{"class level", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.ClassLevel = "预备技师班" }},
	{"study mode", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.StudyMode = student.ModePartTime }},
	{"province", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.ProvinceCode = "11" }},
	{"entry date", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.EntryDate = "2023-09-02" }},
	{"graduation date", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.GraduationDate = "2025-06-30" }},
	{"issue date", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.IssueDate = "2026-07-02" }},
	{"alg", func(_ *testing.T, c *Certificate, _, _ *SigningKey) {
		c.Alg = map[string]string{AlgEd25519: AlgSM2, AlgSM2: AlgEd25519}[c.Alg]
	}},
	{"key id of another published key", func(_ *testing.T, c *Certificate, _, other *SigningKey) { c.KeyID = other.ID }},
	{"key id unknown", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.KeyID = "0123456789abcdef" }},
	{"key id last digit", func(_ *testing.T, c *Certificate, _, _ *SigningKey) {
		last := byte('0')
		if c.KeyID[15] == '0' {
			last = '1'
		}
		c.KeyID = c.KeyID[:15] + string(last)
	}},
	{"signature byte", func(_ *testing.T, c *Certificate, _, _ *SigningKey) {
		c.Signature = bytes.Clone(c.Signature)
		c.Signature[len(c.Signature)/2] ^= 0x01
	}},
	{"signature truncated", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.Signature = c.Signature[:len(c.Signature)-1] }},
	{"signature extended", func(_ *testing.T, c *Certificate, _, _ *SigningKey) {
		c.Signature = append(bytes.Clone(c.Signature), 0)
	}},
	{"signature empty", func(_ *testing.T, c *Certificate, _, _ *SigningKey) { c.Signature = nil }},
	{"signature of another certificate", func(t *testing.T, c *Certificate, k, _ *SigningKey) {
		o, _ := signed(t, k, sample())
		c.Signature = o.Signature
	}},
}

func TestTamperedPayloadsAreRefused(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			k := mustKey(t, alg)
			otherAlg := map[string]string{AlgEd25519: AlgSM2, AlgSM2: AlgEd25519}[alg]
			other := mustKey(t, otherAlg)
			ks := mustKeySet(t, k, other)
			orig, p := signed(t, k, sample())
			if _, _, err := ks.Verify(p); err != nil {
				t.Fatal(err)
			}

			// Re-encode with one field changed, keeping the signature.
			for _, fe := range fieldEdits {
				c := *orig
				fe.edit(t, &c, k, other)
				tp, err := Payload(&c)
				if err != nil {
					t.Fatalf("%s: re-encode: %v", fe.name, err)
				}
				if tp == p {
					t.Fatalf("%s: edit changed nothing", fe.name)
				}
				if _, _, err := Decode(tp); err != nil {
					t.Fatalf("%s: tampered payload no longer decodes (%v); the test should reach the signature check", fe.name, err)
				}
				_, _, err = ks.Verify(tp)
				if codeOf(err) != apperr.InvalidSignature {
					t.Errorf("%s: Verify = %v, want invalid_signature", fe.name, err)
				}
			}

			// Flip bits of every byte of the decoded payload.
			raw, err := base64.RawURLEncoding.DecodeString(p)
			if err != nil {
				t.Fatal(err)
			}
			for i := range raw {
				for _, mask := range []byte{0x01, 0x80, 0xff} {
					b := bytes.Clone(raw)
					b[i] ^= mask
					_, _, err := ks.Verify(base64.RawURLEncoding.EncodeToString(b))
					if c := codeOf(err); c != apperr.InvalidSignature && c != apperr.InvalidPayload {
						t.Fatalf("byte %d ^ %#x: Verify = %v, want invalid_signature or invalid_payload", i, mask, err)
					}
				}
			}

			// Trailing bytes.
			for _, extra := range [][]byte{{0}, {1, 2, 3}, raw} {
				b := append(bytes.Clone(raw), extra...)
				if _, _, err := ks.Verify(base64.RawURLEncoding.EncodeToString(b)); codeOf(err) != apperr.InvalidPayload {
					t.Errorf("%d trailing bytes: %v, want invalid_payload", len(extra), err)
				}
			}
			// Truncation at every length, of the bytes and of the text.
			for n := range raw {
				if _, _, err := ks.Verify(base64.RawURLEncoding.EncodeToString(raw[:n])); codeOf(err) != apperr.InvalidPayload {
					t.Fatalf("truncated to %d bytes: %v, want invalid_payload", n, err)
				}
			}
			for n := range len(p) {
				if _, _, err := ks.Verify(p[:n]); codeOf(err) != apperr.InvalidPayload {
					t.Fatalf("truncated to %d characters: %v, want invalid_payload", n, err)
				}
			}
		})
	}
}

// The length of the signature is outside what is signed; a longer
// encoding of the same length must not give a second payload that
// verifies.
func TestPayloadEncodingIsCanonical(t *testing.T) {
	for _, alg := range Algorithms {
		k := mustKey(t, alg)
		ks := mustKeySet(t, k)
		c, _ := signed(t, k, sample())
		body, err := encodeBody(c)
		if err != nil {
			t.Fatal(err)
		}
		n := uint64(len(c.Signature))
		long := append(bytes.Clone(body), byte(n)|0x80, byte(n>>7)|0x80, 0x00) // n in three bytes
		if v, m := binary.Uvarint(long[len(body):]); v != n || m != 3 {
			t.Fatalf("test encoding wrong: %d, %d", v, m)
		}
		long = append(long, c.Signature...)
		if _, _, err := ks.Verify(base64.RawURLEncoding.EncodeToString(long)); codeOf(err) != apperr.InvalidPayload {
			t.Errorf("%s: signature length in a non-minimal varint: %v, want invalid_payload", alg, err)
		}
	}
}

func TestMalformedPayloads(t *testing.T) {
	k := mustKey(t, AlgEd25519)
	ks := mustKeySet(t, k)
	c, p := signed(t, k, sample())
	raw, _ := base64.RawURLEncoding.DecodeString(p)
	body, _ := encodeBody(c)
	// header is version, alg and key id; then the number's length.
	header := body[:2+keyIDSize]
	withField := func(b []byte) string {
		out := append(bytes.Clone(header), b...)
		return base64.RawURLEncoding.EncodeToString(out)
	}
	huge := strings.Repeat("A", 1<<20)
	cases := map[string]string{
		"empty":                 "",
		"white space":           " \t\n ",
		"not base64":            "这不是二维码内容",
		"base64 std alphabet":   base64.StdEncoding.EncodeToString(raw),
		"padded":                base64.URLEncoding.EncodeToString(append(raw, 0)),
		"inner space":           p[:20] + " " + p[20:],
		"1 MB":                  huge,
		"1 MB in a verify URL":  VerifyURL("https://x.example", huge),
		"1 MB garbage":          strings.Repeat("?/&=%", 1<<18),
		"version 0":             base64.RawURLEncoding.EncodeToString(append([]byte{0}, raw[1:]...)),
		"version 2":             base64.RawURLEncoding.EncodeToString(append([]byte{2}, raw[1:]...)),
		"alg 0":                 base64.RawURLEncoding.EncodeToString(append([]byte{1, 0}, raw[2:]...)),
		"alg 9":                 base64.RawURLEncoding.EncodeToString(append([]byte{1, 9}, raw[2:]...)),
		"field longer than max": withField(binary.AppendUvarint(nil, maxField+1)),
		"field of 1 MiB":        withField(binary.AppendUvarint(nil, 1<<20)),
		"varint overflow":       withField(bytes.Repeat([]byte{0xff}, 11)),
		"invalid utf-8":         withField([]byte{2, 0xff, 0xfe}),
		"only the header":       withField(nil),
	}
	for name, in := range cases {
		c, msg, err := Decode(in)
		if codeOf(err) != apperr.InvalidPayload || c != nil || msg != nil {
			t.Errorf("%s: Decode = %v, %v, want invalid_payload", name, c != nil, err)
		}
		if _, _, err := ks.Verify(in); codeOf(err) != apperr.InvalidPayload {
			t.Errorf("%s: Verify = %v, want invalid_payload", name, err)
		}
	}
	// Class level, study mode out of range.
	for _, pos := range []int{0, 1} {
		b := bytes.Clone(body)
		// Find the coded bytes: right after the five strings.
		off := 2 + keyIDSize
		for range 5 {
			n, m := binary.Uvarint(b[off:])
			off += m + int(n)
		}
		b[off+pos] = 99
		b = binary.AppendUvarint(b, uint64(len(c.Signature)))
		b = append(b, c.Signature...)
		if _, _, err := Decode(base64.RawURLEncoding.EncodeToString(b)); codeOf(err) != apperr.InvalidPayload {
			t.Errorf("coded byte %d = 99: %v, want invalid_payload", pos, err)
		}
	}
}

func TestUnknownAndRetiredKeys(t *testing.T) {
	for _, alg := range Algorithms {
		t.Run(alg, func(t *testing.T) {
			published, stranger := mustKey(t, alg), mustKey(t, alg)
			ks := mustKeySet(t, published)
			_, p := signed(t, stranger, sample())
			if _, _, err := ks.Verify(p); codeOf(err) != apperr.InvalidSignature {
				t.Fatalf("payload of an unpublished key: %v, want invalid_signature", err)
			}
			// A stranger's signature under the published key's id.
			c, _ := signed(t, stranger, sample())
			c.KeyID = published.ID
			forged, err := Payload(c)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ks.Verify(forged); codeOf(err) != apperr.InvalidSignature {
				t.Fatalf("forged key id: %v, want invalid_signature", err)
			}

			// A retired key still verifies what it signed.
			old, p := signed(t, published, sample())
			retired := published.Key
			retired.RetiredAt = testNow.Add(24 * time.Hour)
			next := mustKey(t, AlgEd25519)
			ks2, err := NewKeySet([]Key{retired, next.Key})
			if err != nil {
				t.Fatal(err)
			}
			got, k, err := ks2.Verify(p)
			if err != nil {
				t.Fatalf("retired key: %v", err)
			}
			if k.Active() || k.ID != published.ID {
				t.Fatalf("verified by %+v, want the retired key", k)
			}
			sameCert(t, got, old)
			if r := OfflineReport(got, k); !strings.Contains(r, "停用") || !strings.Contains(r, got.No) {
				t.Errorf("offline report does not mention the retired key:\n%s", r)
			}
		})
	}
}

func TestNewKeySetRefusesMismatchedKeys(t *testing.T) {
	ed, sm := mustKey(t, AlgEd25519), mustKey(t, AlgSM2)
	cases := map[string]Key{
		"wrong alg":    {ID: ed.ID, Alg: AlgSM2, Public: ed.Public},
		"wrong alg 2":  {ID: sm.ID, Alg: AlgEd25519, Public: sm.Public},
		"wrong id":     {ID: sm.ID, Alg: AlgEd25519, Public: ed.Public},
		"junk public":  {ID: KeyID([]byte("junk")), Alg: AlgEd25519, Public: []byte("junk")},
		"empty public": {ID: ed.ID, Alg: AlgEd25519},
	}
	for name, k := range cases {
		if _, err := NewKeySet([]Key{ed.Key, k}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestSigningKeyRoundTrip(t *testing.T) {
	for _, alg := range Algorithms {
		k := mustKey(t, alg)
		der, err := k.MarshalPrivate()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSigningKey(k.Key, der)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		_, p := signed(t, back, sample())
		if _, _, err := mustKeySet(t, k).Verify(p); err != nil {
			t.Fatalf("%s: restored key signs badly: %v", alg, err)
		}
		other := mustKey(t, alg)
		if _, err := ParseSigningKey(other.Key, der); err == nil {
			t.Errorf("%s: private key paired with another public key", alg)
		}
	}
	if _, err := GenerateKey("RSA", testNow); err == nil {
		t.Error("GenerateKey(RSA) succeeded")
	}
}

func TestPayloadSize(t *testing.T) {
	for _, alg := range Algorithms {
		c := sample()
		if n := []int{len([]rune(c.HolderName)), len([]rune(c.IDMasked)), len([]rune(c.SchoolName)), len([]rune(c.Major))}; n[0] != 3 || n[1] != 18 || n[2] != 10 || n[3] != 8 {
			t.Fatalf("sample lengths %v, want [3 18 10 8]", n)
		}
		k := mustKey(t, alg)
		_, p := signed(t, k, c)
		raw, _ := base64.RawURLEncoding.DecodeString(p)
		t.Logf("%s: payload %d bytes, %d base64 characters; verify URL %d characters", alg, len(raw), len(p),
			len(VerifyURL("https://xj.hrss.shandong.gov.cn", p)))
		if len(p) > 340 {
			t.Errorf("%s: payload %d characters, want ≤ 340", alg, len(p))
		}
	}
}

func TestExtractPayload(t *testing.T) {
	k := mustKey(t, AlgEd25519)
	_, p := signed(t, k, sample())
	cases := map[string]string{
		"bare":                p,
		"white space":         "\n  " + p + " \t",
		"verify URL":          VerifyURL("https://xj.example.gov.cn", p),
		"verify URL slash":    VerifyURL("https://xj.example.gov.cn/", p),
		"other params":        "https://xj.example.gov.cn/verify?lang=zh&" + PayloadParam + "=" + p + "&utm=wx",
		"relative":            "/verify?p=" + p,
		"spaces around a URL": "  " + VerifyURL("http://127.0.0.1:8080", p) + "\n",
	}
	for name, in := range cases {
		if got := ExtractPayload(in); got != p {
			t.Errorf("%s: ExtractPayload(%q) = %q", name, in, got)
		}
	}
	// Without the parameter the text is left as it is (and then refused).
	if got := ExtractPayload("https://x/verify?q=1"); got != "https://x/verify?q=1" {
		t.Errorf("URL without p: %q", got)
	}
	if got := VerifyURL("https://a.b/", "xyz"); got != "https://a.b/verify?p=xyz" {
		t.Errorf("VerifyURL = %q", got)
	}
}

func TestParsePublicKey(t *testing.T) {
	for _, alg := range Algorithms {
		k := mustKey(t, alg)
		for name, in := range map[string][]byte{"PEM": []byte(k.PEM()), "DER": k.Public, "PEM with text": []byte("公钥：\n" + k.PEM() + "\n")} {
			got, err := ParsePublicKey(in)
			if err != nil {
				t.Fatalf("%s %s: %v", alg, name, err)
			}
			if got.ID != k.ID || got.Alg != alg || !bytes.Equal(got.Public, k.Public) {
				t.Fatalf("%s %s: got %+v", alg, name, got)
			}
			// The parsed key verifies.
			_, p := signed(t, k, sample())
			ks, err := NewKeySet([]Key{*got})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ks.Verify(p); err != nil {
				t.Fatalf("%s %s: parsed key does not verify: %v", alg, name, err)
			}
		}
		if !strings.HasPrefix(k.PEM(), "-----BEGIN PUBLIC KEY-----\n") {
			t.Errorf("PEM = %q", k.PEM())
		}
	}
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p256DER, _ := x509.MarshalPKIXPublicKey(&p256.PublicKey)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	ed := mustKey(t, AlgEd25519)
	junk := map[string][]byte{
		"empty":         nil,
		"text":          []byte("not a key"),
		"broken PEM":    []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"),
		"truncated DER": ed.Public[:len(ed.Public)-1],
		"P-256":         p256DER,
		"RSA":           rsaDER,
		"1 MB":          bytes.Repeat([]byte{0x30}, 1<<20),
	}
	for name, in := range junk {
		if k, err := ParsePublicKey(in); err == nil {
			t.Errorf("%s: parsed as %+v", name, k)
		}
	}
}

func TestCertAuthorityAndStatusNames(t *testing.T) {
	if got := Authority("37"); got != "山东省人力资源和社会保障厅" {
		t.Errorf("Authority(37) = %q", got)
	}
	if got := Authority("99"); got != "" {
		t.Errorf("Authority(99) = %q", got)
	}
	for s, want := range map[string]string{StatusValid: "有效", StatusRevoked: "已撤销", StatusVoided: "已作废（已补发）", "x": "x"} {
		if got := StatusName(s); got != want {
			t.Errorf("StatusName(%s) = %q", s, got)
		}
	}
	c := sample()
	if c.Equivalence() == "" || c.Authority() == "" {
		t.Errorf("equivalence %q, authority %q", c.Equivalence(), c.Authority())
	}
}

func FuzzDecode(f *testing.F) {
	var keys []*SigningKey
	for _, alg := range Algorithms {
		k := mustKey(f, alg)
		keys = append(keys, k)
		_, p := signed(f, k, sample())
		f.Add(p)
		f.Add(VerifyURL("https://x.example", p))
		raw, _ := base64.RawURLEncoding.DecodeString(p)
		f.Add(base64.RawURLEncoding.EncodeToString(raw[:len(raw)/2]))
	}
	f.Add("")
	f.Add("AQE")
	f.Add("?/p=")
	ks := mustKeySet(f, keys...)
	f.Fuzz(func(t *testing.T, s string) {
		c, msg, err := Decode(s)
		if err != nil {
			if c != nil || msg != nil || codeOf(err) != apperr.InvalidPayload {
				t.Fatalf("Decode(%q) = %v, %v, %v", s, c, msg, err)
			}
		} else if c == nil || !bytes.HasPrefix(msg, []byte(signedPrefix)) {
			t.Fatalf("Decode(%q) = %v, %q", s, c, msg)
		}
		if _, _, err := ks.Verify(s); err != nil {
			if code := codeOf(err); code != apperr.InvalidPayload && code != apperr.InvalidSignature {
				t.Fatalf("Verify(%q): %v", s, err)
			}
		}
	})
}

func BenchmarkVerifyOffline(b *testing.B) {
	for _, alg := range Algorithms {
		b.Run(alg, func(b *testing.B) {
			k := mustKey(b, alg)
			// A realistic set: a few retired keys besides the one that signed.
			set := []*SigningKey{k, mustKey(b, AlgEd25519), mustKey(b, AlgSM2)}
			ks := mustKeySet(b, set...)
			_, p := signed(b, k, sample())
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := ks.Verify(p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
		})
	}
}
