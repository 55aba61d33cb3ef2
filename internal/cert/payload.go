package cert

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gongjiang/gongjiang/internal/apperr"
	"github.com/gongjiang/gongjiang/internal/refdata"
	"github.com/gongjiang/gongjiang/internal/student"
)

// The QR payload is the certificate's shown fields in a fixed binary
// order, then the signature, in unpadded base64url:
//
//	version(1) alg(1) key id(8)
//	number, holder name, masked ID, school, major   (uvarint length + UTF-8 each)
//	class level(1) study mode(1) province(1)
//	entry, graduation, issue date                   (uvarint days since 1970-01-01)
//	signature                                       (uvarint length + bytes)
//
// The signature covers "gongjiang certificate\x00" followed by everything
// before the signature, so every field shown, the algorithm and the key id
// are signed; the prefix keeps these signatures from being valid for
// anything else the same key might sign. Coded fields keep the payload
// near 230 bytes, a QR code of version 15 or lower at error correction M.
const (
	payloadVersion = 1
	signedPrefix   = "gongjiang certificate\x00"
	maxPayload     = 1024 // bytes, decoded; anything larger is not ours
	maxField       = 200  // bytes
)

// PayloadParam is the query parameter of the verify URL in the QR code.
const PayloadParam = "p"

func signedMessage(body []byte) []byte {
	return append([]byte(signedPrefix), body...)
}

func encodeBody(c *Certificate) ([]byte, error) {
	alg, ok := algorithms[c.Alg]
	if !ok {
		return nil, fmt.Errorf("cert: unknown algorithm %q", c.Alg)
	}
	kid, err := hex.DecodeString(c.KeyID)
	if err != nil || len(kid) != keyIDSize {
		return nil, fmt.Errorf("cert: bad key id %q", c.KeyID)
	}
	level := slices.Index(refdata.ClassLevelNames(), c.ClassLevel)
	mode := slices.Index(student.Modes, c.StudyMode)
	province := 0
	if len(c.ProvinceCode) == 2 {
		fmt.Sscanf(c.ProvinceCode, "%d", &province)
	}
	if level < 0 || mode < 0 || province < 11 || province > 99 {
		return nil, fmt.Errorf("cert: %s: class level %q, study mode %q or province %q cannot be encoded", c.No, c.ClassLevel, c.StudyMode, c.ProvinceCode)
	}
	b := make([]byte, 0, 256)
	b = append(b, payloadVersion, alg.code)
	b = append(b, kid...)
	for _, s := range []string{c.No, c.HolderName, c.IDMasked, c.SchoolName, c.Major} {
		if len(s) > maxField {
			return nil, fmt.Errorf("cert: %s: field %q too long", c.No, s)
		}
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = append(b, byte(level+1), byte(mode+1), byte(province))
	for _, d := range []string{c.EntryDate, c.GraduationDate, c.IssueDate} {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil || t.Year() < 1970 {
			return nil, fmt.Errorf("cert: %s: date %q cannot be encoded", c.No, d)
		}
		b = binary.AppendUvarint(b, uint64(t.Unix()/86400))
	}
	return b, nil
}

// Payload is the signed QR payload of a signed certificate.
func Payload(c *Certificate) (string, error) {
	body, err := encodeBody(c)
	if err != nil {
		return "", err
	}
	body = binary.AppendUvarint(body, uint64(len(c.Signature)))
	body = append(body, c.Signature...)
	return base64.RawURLEncoding.EncodeToString(body), nil
}

// VerifyURL is what the QR code holds: the public verify page with the
// payload, so a phone's camera opens the check, and an offline reader
// finds the payload in its parameter.
func VerifyURL(base, payload string) string {
	return strings.TrimRight(base, "/") + "/verify?" + PayloadParam + "=" + payload
}

// errPayload is how every malformed payload is refused: one message, the
// detail only in the error's cause for logs and the CLI.
func errPayload(detail string) error {
	return apperr.E(apperr.InvalidPayload, "payload", "cert.payload.malformed", detail)
}

// ExtractPayload accepts what a scanner gives: the verify URL or the bare
// payload, with surrounding white space.
func ExtractPayload(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "?"); i >= 0 && strings.Contains(s[:i], "/") {
		if q, err := url.ParseQuery(s[i+1:]); err == nil && q.Get(PayloadParam) != "" {
			return q.Get(PayloadParam)
		}
	}
	return s
}

// Decode reads a payload without checking its signature: the fields, the
// algorithm, the key id and the signature, and the signed message.
func Decode(payload string) (*Certificate, []byte, error) {
	payload = ExtractPayload(payload)
	if len(payload) > base64.RawURLEncoding.EncodedLen(maxPayload) {
		return nil, nil, errPayload("过长")
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(payload)
	if err != nil {
		return nil, nil, errPayload("不是 base64url 编码")
	}
	r := reader{b: b}
	if v := r.byte(); v != payloadVersion {
		return nil, nil, errPayload(fmt.Sprintf("版本 %d 不受支持", v))
	}
	c := &Certificate{Kind: KindGraduation}
	alg, ok := algorithmByCode(r.byte())
	if !ok && r.err == nil {
		return nil, nil, errPayload("签名算法未知")
	}
	c.Alg = alg
	c.KeyID = hex.EncodeToString(r.bytes(keyIDSize))
	for _, f := range []*string{&c.No, &c.HolderName, &c.IDMasked, &c.SchoolName, &c.Major} {
		*f = r.string()
	}
	level, mode, province := int(r.byte()), int(r.byte()), int(r.byte())
	if levels := refdata.ClassLevelNames(); level >= 1 && level <= len(levels) {
		c.ClassLevel = levels[level-1]
	} else if r.err == nil {
		return nil, nil, errPayload("培养层次编码无效")
	}
	if mode >= 1 && mode <= len(student.Modes) {
		c.StudyMode = student.Modes[mode-1]
	} else if r.err == nil {
		return nil, nil, errPayload("学习形式编码无效")
	}
	c.ProvinceCode = fmt.Sprintf("%02d", province)
	for _, f := range []*string{&c.EntryDate, &c.GraduationDate, &c.IssueDate} {
		*f = time.Unix(int64(r.uvarint())*86400, 0).UTC().Format(time.DateOnly)
	}
	signedLen := r.off
	c.Signature = r.bytes(int(r.uvarint()))
	if r.err != nil {
		return nil, nil, errPayload(r.err.Error())
	}
	if r.off != len(b) {
		return nil, nil, errPayload("末尾有多余数据")
	}
	return c, signedMessage(b[:signedLen]), nil
}

// reader walks a payload, remembering the first problem.
type reader struct {
	b   []byte
	off int
	err error
}

var errShort = errors.New("数据不完整")

func (r *reader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b)-r.off {
		if r.err == nil {
			r.err = errShort
		}
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) byte() byte {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	// A longer encoding than needed ends in a zero byte; refusing it keeps
	// one payload per certificate (the signature's length is not signed).
	if n <= 0 || v > 1<<20 || (n > 1 && r.b[r.off+n-1] == 0) {
		r.err = errShort
		return 0
	}
	r.off += n
	return v
}

func (r *reader) string() string {
	n := r.uvarint()
	if n > maxField && r.err == nil {
		r.err = errors.New("字段过长")
	}
	s := r.bytes(int(n))
	if r.err == nil && !utf8.Valid(s) {
		r.err = errors.New("字段不是有效的 UTF-8")
	}
	return string(s)
}

// KeySet is the published keys, active and retired, by id.
type KeySet map[string]*Key

// NewKeySet checks and indexes published keys.
func NewKeySet(keys []Key) (KeySet, error) {
	ks := KeySet{}
	for i := range keys {
		k := keys[i]
		if err := k.parse(); err != nil {
			return nil, err
		}
		ks[k.ID] = &k
	}
	return ks, nil
}

// Verify checks a payload's signature against the published keys and
// returns the certificate it states and the key that signed it. A payload
// whose key is unknown, whose algorithm does not match its key, or whose
// signature fails is refused with invalid_signature.
func (ks KeySet) Verify(payload string) (*Certificate, *Key, error) {
	c, msg, err := Decode(payload)
	if err != nil {
		return nil, nil, err
	}
	k, ok := ks[c.KeyID]
	if !ok {
		return nil, nil, apperr.E(apperr.InvalidSignature, "payload", "cert.key.unknown", c.KeyID)
	}
	if k.Alg != c.Alg || !k.verify(msg, c.Signature) {
		return nil, nil, apperr.E(apperr.InvalidSignature, "payload", "cert.signature.invalid")
	}
	return c, k, nil
}
