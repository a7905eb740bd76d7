package main

// The agent fleet (issue 13, target 6): many agents, each its own idempotent producer (acks=all,
// its own client and connections) sending a few keyed JSON records a second, and consumer
// groups reading everything. Measured: per-record produce latency (Produce call to its
// acknowledgement) and end to end (the record's create timestamp to a consumer's poll), over a
// window that starts once every producer has had its first record acknowledged: a thousand
// clients arriving (metadata, producer ids) is a storm of its own, not the steady load.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type fleetConfig struct {
	target
	groupPrefix                        string
	producers, groups, consumersPerGrp int
	ratePerS                           float64
	bytesMin, bytesMax                 int
	duration, ramp, drainMax           time.Duration
}

type fleetResult struct {
	Producers         int     `json:"producers"`
	Consumers         int     `json:"consumers"`
	ProducerConnsPeak int64   `json:"producerConnectionsPeak"`
	ConsumerConnsPeak int64   `json:"consumerConnectionsPeak"`
	Produced          int64   `json:"produced"`
	ProducedBytes     int64   `json:"producedBytes"`
	ProduceErrors     int64   `json:"produceErrors"`
	FirstError        string  `json:"firstError"`
	MeasuredS         float64 `json:"measuredS"`
	RecordsPerS       float64 `json:"recordsPerS"`
	Produce           summary `json:"produce"`
	EndToEnd          summary `json:"endToEnd"`
	// Records each group read from the measured window; all of them when nothing was lost.
	GroupConsumed []int64 `json:"groupConsumed"`
	// Records a group was handed again (a partition moved before its offset was committed):
	// neither counted nor timed a second time.
	Redelivered int64 `json:"redelivered"`
	Drained     bool  `json:"drained"`
}

func parseFleet(args []string) (fleetConfig, error) {
	var c fleetConfig
	fs := targetFlags("fleet", &c.target)
	fs.StringVar(&c.groupPrefix, "group-prefix", "fleet", "consumer groups are <prefix>-<n>")
	fs.IntVar(&c.producers, "producers", 1000, "agents: one idempotent producer client each")
	fs.Float64Var(&c.ratePerS, "rate", 10, "records per second per producer")
	fs.IntVar(&c.bytesMin, "bytes-min", 300, "smallest JSON value")
	fs.IntVar(&c.bytesMax, "bytes-max", 800, "largest JSON value")
	fs.IntVar(&c.groups, "groups", 5, "consumer groups")
	fs.IntVar(&c.consumersPerGrp, "consumers-per-group", 10, "consumers in each group")
	fs.DurationVar(&c.duration, "duration", 60*time.Second, "measured window")
	fs.DurationVar(&c.ramp, "ramp", 10*time.Second, "producers start spread over this long")
	fs.DurationVar(&c.drainMax, "drain-max", 60*time.Second, "longest wait for consumers to catch up")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.topic == "" || c.partitions < 1 || c.producers < 1 || c.ratePerS <= 0 || c.bytesMin < 64 ||
		c.bytesMax < c.bytesMin || c.groups < 0 || c.consumersPerGrp < 1 {
		return c, fmt.Errorf("fleet: bad flags %+v", c)
	}
	return c, nil
}

// agentValue is a JSON object of exactly n bytes, shaped like an agent's ledger entry.
func agentValue(agent, seq, n int, rng *rand.Rand) []byte {
	kinds := []string{"task.started", "tool.call", "tool.result", "approval", "denial"}
	head := fmt.Sprintf(`{"agent":"agent-%05d","seq":%d,"kind":"%s","ts":%d,"detail":"`,
		agent, seq, kinds[rng.IntN(len(kinds))], time.Now().UnixMilli())
	pad := n - len(head) - 2
	return []byte(head + strings.Repeat("x", max(0, pad)) + `"}`)
}

func runFleet(args []string) (any, error) {
	c, err := parseFleet(args)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var consumerConns, producerConns connections
	e2e := &latencies{}
	var windowStartMs atomic.Int64
	windowStartMs.Store(1 << 62) // nothing counts until the window opens
	var redelivered atomic.Int64
	groups := make([]groupProgress, c.groups)
	for g := range groups {
		groups[g].highest = make([]atomic.Int64, c.partitions)
		for p := range groups[g].highest {
			groups[g].highest[p].Store(-1)
		}
		groups[g].redelivered = &redelivered
	}
	consumers, err := startConsumers(ctx, c, &consumerConns, e2e, &windowStartMs, groups)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, cl := range consumers {
			cl.Close()
		}
	}()
	res := produceFleet(ctx, c, &producerConns, &windowStartMs)
	deadline := time.Now().Add(c.drainMax)
	drained := false
	for !drained && time.Now().Before(deadline) {
		drained = true
		for g := range groups {
			drained = drained && groups[g].consumed.Load() >= res.windowRecords
		}
		if !drained {
			time.Sleep(100 * time.Millisecond)
		}
	}
	out := res.fleetResult
	out.Consumers = len(consumers)
	out.ConsumerConnsPeak = consumerConns.peak.Load()
	out.EndToEnd = e2e.summary()
	out.Drained = drained
	out.Redelivered = redelivered.Load()
	for g := range groups {
		out.GroupConsumed = append(out.GroupConsumed, groups[g].consumed.Load())
	}
	return out, nil
}

// startConsumers joins every consumer to its group and waits until each group is settled: the
// whole topic assigned, every member holding a share, unchanged for a second, so the measured
// window does not include the first rebalances.
func startConsumers(ctx context.Context, c fleetConfig, conns *connections, e2e *latencies,
	windowStartMs *atomic.Int64, groups []groupProgress) ([]*kgo.Client, error) {
	assigned := make([]atomic.Int64, c.groups*c.consumersPerGrp)
	var clients []*kgo.Client
	for g := 0; g < c.groups; g++ {
		for i := 0; i < c.consumersPerGrp; i++ {
			mine := &assigned[g*c.consumersPerGrp+i]
			cl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap), kgo.WithHooks(connectionHook{conns}),
				kgo.ConsumerGroup(fmt.Sprintf("%s-%d", c.groupPrefix, g)), kgo.ConsumeTopics(c.topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
					mine.Add(int64(len(m[c.topic])))
				}),
				kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
					mine.Add(-int64(len(m[c.topic])))
				}))
			if err != nil {
				return clients, err
			}
			clients = append(clients, cl)
			go consume(ctx, cl, e2e, windowStartMs, &groups[g])
		}
	}
	return clients, waitSettled(c, assigned)
}

func waitSettled(c fleetConfig, assigned []atomic.Int64) error {
	settled := func() bool {
		for g := 0; g < c.groups; g++ {
			var sum int64
			for i := 0; i < c.consumersPerGrp; i++ {
				n := assigned[g*c.consumersPerGrp+i].Load()
				if n == 0 && i < c.partitions {
					return false
				}
				sum += n
			}
			if sum != int64(c.partitions) {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(c.drainMax)
	var since time.Time
	for time.Since(since) < time.Second || since.IsZero() {
		if time.Now().After(deadline) {
			return fmt.Errorf("consumer groups not settled after %v", c.drainMax)
		}
		if !settled() {
			since = time.Time{}
		} else if since.IsZero() {
			since = time.Now()
		}
		time.Sleep(50 * time.Millisecond)
	}
	progress("%d consumers in %d groups settled", c.groups*c.consumersPerGrp, c.groups)
	return nil
}

func consume(ctx context.Context, cl *kgo.Client, e2e *latencies, windowStartMs *atomic.Int64,
	group *groupProgress) {
	for ctx.Err() == nil {
		fetches := cl.PollFetches(ctx)
		nowMs := float64(time.Now().UnixMicro()) / 1000
		fetches.EachRecord(func(r *kgo.Record) {
			if !group.first(r.Partition, r.Offset) || r.Timestamp.UnixMilli() < windowStartMs.Load() {
				return
			}
			group.consumed.Add(1)
			e2e.add(nowMs - float64(r.Timestamp.UnixMicro())/1000)
		})
	}
}

// groupProgress is what one group has read: records counted once each, by the highest offset
// seen per partition (a partition moves between members, and the new one may start earlier).
type groupProgress struct {
	consumed    atomic.Int64
	highest     []atomic.Int64
	redelivered *atomic.Int64
}

// first reports whether the record is new to the group, and remembers it.
func (g *groupProgress) first(partition int32, offset int64) bool {
	h := &g.highest[partition]
	for {
		seen := h.Load()
		if offset <= seen {
			g.redelivered.Add(1)
			return false
		}
		if h.CompareAndSwap(seen, offset) {
			return true
		}
	}
}

type fleetProduced struct {
	fleetResult
	windowRecords int64
}

// produceFleet runs every agent: start-up spread over the ramp, then the measured window.
func produceFleet(ctx context.Context, c fleetConfig, conns *connections,
	windowStartMs *atomic.Int64) fleetProduced {
	lat := &latencies{}
	var produced, producedBytes, errs, windowRecords, started atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for a := 0; a < c.producers; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(float64(c.ramp) * float64(a) / float64(c.producers)))
			runAgent(ctx, c, a, conns, stop, &started, func(r *kgo.Record, sentAt time.Time, err error) {
				inWindow := r.Timestamp.UnixMilli() >= windowStartMs.Load()
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					return
				}
				produced.Add(1)
				producedBytes.Add(int64(len(r.Value)))
				if inWindow {
					windowRecords.Add(1)
					lat.add(float64(time.Since(sentAt).Microseconds()) / 1000)
				}
			})
		}()
	}
	deadline := time.Now().Add(c.ramp + c.drainMax)
	for started.Load() < int64(c.producers) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := started.Load(); n < int64(c.producers) {
		progress("only %d of %d producers acknowledged after %v; measuring anyway", n, c.producers,
			c.ramp+c.drainMax)
	}
	progress("%d producers acknowledged once; measuring for %v", c.producers, c.duration)
	begin := time.Now()
	windowStartMs.Store(begin.UnixMilli())
	time.Sleep(c.duration)
	close(stop)
	wg.Wait()
	measuredS := time.Since(begin).Seconds()
	fe, _ := firstErr.Load().(string)
	return fleetProduced{windowRecords: windowRecords.Load(), fleetResult: fleetResult{
		Producers: c.producers, ProducerConnsPeak: conns.peak.Load(), Produced: produced.Load(),
		ProducedBytes: producedBytes.Load(), ProduceErrors: errs.Load(), FirstError: fe,
		MeasuredS: measuredS, RecordsPerS: float64(windowRecords.Load()) / measuredS, Produce: lat.summary(),
	}}
}

// runAgent is one agent: its own client (idempotent, acks=all: franz-go's defaults), a record
// every 1/rate s at a random phase, keyed by the agent, until stop; then it flushes and closes.
func runAgent(ctx context.Context, c fleetConfig, a int, conns *connections, stop <-chan struct{},
	started *atomic.Int64, done func(*kgo.Record, time.Time, error)) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap), kgo.DefaultProduceTopic(c.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.WithHooks(connectionHook{conns}))
	if err != nil {
		started.Add(1)
		done(&kgo.Record{}, time.Now(), err)
		return
	}
	defer cl.Close()
	rng := rand.New(rand.NewPCG(uint64(a), 7))
	key := []byte(fmt.Sprintf("agent-%05d", a))
	period := time.Duration(float64(time.Second) / c.ratePerS)
	time.Sleep(time.Duration(rng.Int64N(int64(period))))
	tick := time.NewTicker(period)
	defer tick.Stop()
	for seq := 0; ; seq++ {
		n := c.bytesMin + rng.IntN(c.bytesMax-c.bytesMin+1)
		sentAt := time.Now()
		r := &kgo.Record{Key: key, Value: agentValue(a, seq, n, rng), Timestamp: sentAt}
		first := seq == 0
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			done(r, sentAt, err)
			if first {
				started.Add(1) // connected, initialized (producer id) and acknowledged once
			}
		})
		select {
		case <-stop:
			_ = cl.Flush(ctx)
			return
		case <-tick.C:
		}
	}
}
