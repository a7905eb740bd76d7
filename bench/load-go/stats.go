package main

import (
	"encoding/json"
	"math"
	"sort"
	"sync"
	"sync/atomic"
)

// latencies collects samples (ms) from many goroutines; percentiles are computed once at the end.
type latencies struct {
	mu      sync.Mutex
	samples []float64
}

func (l *latencies) add(ms float64) {
	l.mu.Lock()
	l.samples = append(l.samples, ms)
	l.mu.Unlock()
}

// summary is what the JSON carries for one latency: count and nearest-rank percentiles (ms).
type summary struct {
	Count  int     `json:"count"`
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	P999Ms float64 `json:"p999Ms"`
	MaxMs  float64 `json:"maxMs"`
}

func (l *latencies) summary() summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := append([]float64(nil), l.samples...)
	sort.Float64s(s)
	q := func(p float64) float64 {
		if len(s) == 0 {
			return math.NaN()
		}
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[min(len(s)-1, max(0, i))]
	}
	return summary{Count: len(s), P50Ms: q(0.5), P99Ms: q(0.99), P999Ms: q(0.999), MaxMs: q(1)}
}

// MarshalJSON writes NaN (no samples) as null: JSON has no NaN.
func (s summary) MarshalJSON() ([]byte, error) {
	type plain struct {
		Count  int      `json:"count"`
		P50Ms  *float64 `json:"p50Ms"`
		P99Ms  *float64 `json:"p99Ms"`
		P999Ms *float64 `json:"p999Ms"`
		MaxMs  *float64 `json:"maxMs"`
	}
	f := func(x float64) *float64 {
		if math.IsNaN(x) {
			return nil
		}
		return &x
	}
	return json.Marshal(plain{s.Count, f(s.P50Ms), f(s.P99Ms), f(s.P999Ms), f(s.MaxMs)})
}

// connections counts the TCP connections a set of clients holds, now and at its peak
// (kgo's broker connect and disconnect hooks).
type connections struct {
	open, peak atomic.Int64
}

func (c *connections) connected() {
	n := c.open.Add(1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			return
		}
	}
}

func (c *connections) disconnected() { c.open.Add(-1) }
