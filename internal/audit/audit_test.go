package audit

import (
	"crypto/ed25519"
	"testing"
	"time"
)

func chain(t *testing.T, n int) []Event {
	t.Helper()
	var out []Event
	prev, seq := GenesisHash, int64(0)
	for i := range n {
		e, err := NewEvent(seq, prev, time.Unix(1700000000+int64(i), 123456789), Entry{Actor: "a", Action: "x.y", Entity: "e", EntityID: "1", Data: map[string]int{"i": i}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
		prev, seq = e.Hash, e.Seq
	}
	return out
}

func TestHashCoversEveryField(t *testing.T) {
	base := chain(t, 1)[0]
	mutations := map[string]func(*Event){
		"seq":       func(e *Event) { e.Seq++ },
		"at":        func(e *Event) { e.At = e.At.Add(time.Microsecond) },
		"actor":     func(e *Event) { e.Actor = "b" },
		"action":    func(e *Event) { e.Action = "x.z" },
		"entity":    func(e *Event) { e.Entity = "f" },
		"entity_id": func(e *Event) { e.EntityID = "2" },
		"data":      func(e *Event) { e.Data = []byte(`{"i":1}`) },
		"prev_hash": func(e *Event) { e.PrevHash = "00" },
		// Length prefixes keep field boundaries: moving a character from one
		// field to the next must change the hash.
		"boundary": func(e *Event) { e.Actor, e.Action = "ax", ".y" },
	}
	for name, m := range mutations {
		e := base
		m(&e)
		if e.ComputeHash() == base.Hash {
			t.Errorf("changing %s does not change the hash", name)
		}
	}
}

func TestVerifierAcceptsIntactChain(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, 32))
	s := NewSigner(key)
	events := chain(t, 25)
	cp := s.Sign(10, events[9].Hash, time.Now())
	head := s.Sign(25, events[24].Hash, time.Now())
	v := NewVerifier(s.PublicKey(), []Checkpoint{cp})
	for _, e := range events {
		if !v.Add(e) {
			t.Fatalf("rejected intact event %d", e.Seq)
		}
	}
	if p := v.Finish(&head); p != nil {
		t.Fatal(p)
	}
	if v.Count != 25 {
		t.Fatalf("count %d", v.Count)
	}
}

func TestEmptyLogVerifies(t *testing.T) {
	s := NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	if p := NewVerifier(s.PublicKey(), nil).Finish(nil); p != nil {
		t.Fatal(p)
	}
}

func TestCheckpointSignatureCoversFields(t *testing.T) {
	s := NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)))
	c := s.Sign(7, "abc", time.Unix(1, 0))
	if !c.Valid(s.PublicKey()) {
		t.Fatal("fresh checkpoint invalid")
	}
	for name, m := range map[string]func(*Checkpoint){
		"seq":  func(c *Checkpoint) { c.Seq = 8 },
		"hash": func(c *Checkpoint) { c.Hash = "abd" },
		"at":   func(c *Checkpoint) { c.At = c.At.Add(time.Second) },
		"key":  func(c *Checkpoint) { c.KeyID = "other" },
	} {
		d := c
		m(&d)
		if d.Valid(s.PublicKey()) {
			t.Errorf("checkpoint with changed %s still valid", name)
		}
	}
}
