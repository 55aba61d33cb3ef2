package web

import (
	"sync"
	"time"
)

// addressLimiter is a token bucket per client address for the public
// certificate checks. It lives in memory: a check must not cost a database
// write, and a per-node limit is what matters against one address
// hammering a node. Memory is bounded: when maxAddresses buckets exist,
// full (idle) buckets are dropped, and if none is idle the new address is
// refused until some are.
type addressLimiter struct {
	mu       sync.Mutex
	perSec   float64
	burst    float64
	max      int
	buckets  map[string]*bucket
	lastScan time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

const maxAddresses = 100_000

func newAddressLimiter(perMinute, burst int) *addressLimiter {
	return &addressLimiter{perSec: float64(perMinute) / 60, burst: float64(burst), max: maxAddresses, buckets: map[string]*bucket{}}
}

// allow takes a token for addr if one is left.
func (l *addressLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[addr]
	if !ok {
		if len(l.buckets) >= l.max && !l.evict(now) {
			return false
		}
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[addr] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.at).Seconds()*l.perSec)
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// evict drops the buckets that have refilled completely (their addresses
// are idle), at most once a second; it reports whether room was made.
func (l *addressLimiter) evict(now time.Time) bool {
	if now.Sub(l.lastScan) < time.Second {
		return false
	}
	l.lastScan = now
	for addr, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.perSec >= l.burst {
			delete(l.buckets, addr)
		}
	}
	return len(l.buckets) < l.max
}
