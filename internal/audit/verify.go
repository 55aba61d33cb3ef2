package audit

import (
	"crypto/ed25519"
	"fmt"
)

// Problem describes the first place where the log is not what was written.
type Problem struct {
	Seq    int64  // the first bad event (or checkpoint) sequence number
	Reason string // Chinese, for operators
}

func (p *Problem) Error() string { return fmt.Sprintf("审计日志第 %d 条：%s", p.Seq, p.Reason) }

// Verifier checks events fed in sequence order against the chain and the
// signed checkpoints. It keeps O(1) state besides the checkpoint index, so
// millions of events stream through it.
type Verifier struct {
	pub         ed25519.PublicKey
	checkpoints map[int64]Checkpoint
	lastSeq     int64
	lastHash    string
	problem     *Problem
	Count       int64
}

// NewVerifier prepares a verification against pub and the stored checkpoints.
// A checkpoint with a bad signature is itself a problem.
func NewVerifier(pub ed25519.PublicKey, checkpoints []Checkpoint) *Verifier {
	v := &Verifier{pub: pub, checkpoints: map[int64]Checkpoint{}, lastHash: GenesisHash}
	for _, c := range checkpoints {
		if !c.Valid(pub) {
			v.fail(c.Seq, "检查点签名无效（检查点被改动或不是本实例的密钥签发）")
			continue
		}
		v.checkpoints[c.Seq] = c
	}
	return v
}

func (v *Verifier) fail(seq int64, reason string) {
	if v.problem == nil || seq < v.problem.Seq {
		v.problem = &Problem{Seq: seq, Reason: reason}
	}
}

// Add checks the next event. It returns false once a problem is known,
// so callers can stop reading.
func (v *Verifier) Add(e Event) bool {
	if v.problem != nil && v.problem.Seq <= e.Seq {
		return false
	}
	v.Count++
	want := v.lastSeq + 1
	switch {
	case e.Seq != want:
		v.fail(want, fmt.Sprintf("序号不连续：应为 %d，实为 %d（有记录被删除、插入或调换）", want, e.Seq))
	case e.PrevHash != v.lastHash:
		v.fail(e.Seq, "前序哈希与上一条不符（有记录被删除、插入或调换）")
	case e.ComputeHash() != e.Hash:
		v.fail(e.Seq, "内容与哈希不符（记录被改动）")
	default:
		if c, ok := v.checkpoints[e.Seq]; ok && c.Hash != e.Hash {
			v.fail(e.Seq, "与已签名检查点不符（记录被改动或替换）")
		}
	}
	if v.problem != nil {
		return false
	}
	v.lastSeq, v.lastHash = e.Seq, e.Hash
	return true
}

// Finish checks the end of the chain against the signed head and the
// checkpoints beyond the last event, and returns the first problem or nil.
func (v *Verifier) Finish(head *Checkpoint) *Problem {
	if v.problem != nil {
		return v.problem
	}
	for seq := range v.checkpoints {
		if seq > v.lastSeq {
			v.fail(v.lastSeq+1, fmt.Sprintf("签名检查点指向第 %d 条，但日志只到第 %d 条（末尾记录被删除）", seq, v.lastSeq))
		}
	}
	switch {
	case head == nil && v.lastSeq > 0:
		v.fail(v.lastSeq, "缺少已签名的日志头")
	case head == nil:
	case !head.Valid(v.pub):
		v.fail(head.Seq, "日志头签名无效")
	case head.Seq > v.lastSeq:
		v.fail(v.lastSeq+1, fmt.Sprintf("已签名的日志头为第 %d 条，但日志只到第 %d 条（末尾记录被删除）", head.Seq, v.lastSeq))
	case head.Seq < v.lastSeq:
		v.fail(head.Seq+1, "日志头之后出现未签名的记录（记录被插入）")
	case head.Hash != v.lastHash:
		v.fail(head.Seq, "最后一条与已签名的日志头不符")
	}
	return v.problem
}
