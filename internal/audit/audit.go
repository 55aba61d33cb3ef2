// Package audit defines the append-only, hash-chained event log: every event's
// hash covers the previous event's hash and a canonical encoding of the
// event, and signed checkpoints pin the chain so that rows altered, removed,
// inserted or reordered behind the application's back are found.
package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/gongjiang/gongjiang/internal/keyring"
)

// GenesisHash is the previous hash of the first event.
var GenesisHash = hex.EncodeToString(make([]byte, sha256.Size))

// CheckpointEvery is how many events lie between two kept checkpoints.
const CheckpointEvery = 1000

// Entry is what a caller records; the store turns it into an Event.
type Entry struct {
	Actor    string // user name, or "system"
	Action   string // e.g. "school.create", "user.login"
	Entity   string // e.g. "school"
	EntityID string
	Data     any // marshalled to JSON; must not hold secrets
}

// Event is one row of the chain.
type Event struct {
	Seq      int64
	At       time.Time // truncated to microseconds
	Actor    string
	Action   string
	Entity   string
	EntityID string
	Data     []byte // JSON, hashed exactly as stored
	PrevHash string // hex
	Hash     string // hex
}

// NewEvent builds the event that follows prev (seq, hash) for entry.
func NewEvent(prevSeq int64, prevHash string, at time.Time, e Entry) (Event, error) {
	data := []byte("null")
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return Event{}, fmt.Errorf("audit: encode data: %w", err)
		}
		data = b
	}
	ev := Event{
		Seq: prevSeq + 1, At: at.UTC().Truncate(time.Microsecond),
		Actor: e.Actor, Action: e.Action, Entity: e.Entity, EntityID: e.EntityID,
		Data: data, PrevHash: prevHash,
	}
	ev.Hash = ev.ComputeHash()
	return ev, nil
}

// ComputeHash is SHA-256 over a length-prefixed encoding of every field
// and the previous hash, so no two different events encode alike.
func (e Event) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte("gongjiang-audit-v1"))
	field := func(s []byte) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write(s)
	}
	field([]byte(strconv.FormatInt(e.Seq, 10)))
	field([]byte(strconv.FormatInt(e.At.UnixMicro(), 10)))
	field([]byte(e.Actor))
	field([]byte(e.Action))
	field([]byte(e.Entity))
	field([]byte(e.EntityID))
	field(e.Data)
	field([]byte(e.PrevHash))
	return hex.EncodeToString(h.Sum(nil))
}

// Checkpoint is a signed statement that the chain reached Seq with Hash.
type Checkpoint struct {
	Seq       int64
	Hash      string
	At        time.Time
	KeyID     string
	Signature []byte
}

func checkpointMessage(seq int64, hash string, at time.Time) []byte {
	return fmt.Appendf(nil, "gongjiang-audit-checkpoint-v1\n%d\n%s\n%d", seq, hash, at.UnixMicro())
}

// Signer signs checkpoints with the instance's key.
type Signer struct {
	key   ed25519.PrivateKey
	keyID string
}

// NewSigner returns a signer over key.
func NewSigner(key ed25519.PrivateKey) *Signer {
	return &Signer{key: key, keyID: keyring.KeyID(key.Public().(ed25519.PublicKey))}
}

// Sign returns the checkpoint for (seq, hash) at time at.
func (s *Signer) Sign(seq int64, hash string, at time.Time) Checkpoint {
	at = at.UTC().Truncate(time.Microsecond)
	return Checkpoint{Seq: seq, Hash: hash, At: at, KeyID: s.keyID,
		Signature: ed25519.Sign(s.key, checkpointMessage(seq, hash, at))}
}

// PublicKey returns the verification key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Valid reports whether c was signed by pub.
func (c Checkpoint) Valid(pub ed25519.PublicKey) bool {
	return c.KeyID == keyring.KeyID(pub) && ed25519.Verify(pub, checkpointMessage(c.Seq, c.Hash, c.At), c.Signature)
}
