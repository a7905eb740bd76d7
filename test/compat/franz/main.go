// Command compat-franz drives franz-go (kgo and kadm) against a broker for
// test/compat/franz-client.test.ts. Each subcommand does one step and prints one JSON object on
// stdout; the test asserts on it. Client errors are reported in the JSON (as strings) rather than
// ending the program, so the test can show exactly which call failed and how; the exit status is
// non-zero only for bad arguments or an unexpected failure to even start.
//
//	compat-franz admin    BOOTSTRAP TOPIC PARTITIONS
//	compat-franz produce  BOOTSTRAP TOPIC PARTITIONS CODEC COUNT
//	compat-franz consume  BOOTSTRAP TOPIC GROUP EXPECTED
//	compat-franz group    BOOTSTRAP GROUP TOPIC
//	compat-franz reset    BOOTSTRAP GROUP TOPIC
//	compat-franz handoff  BOOTSTRAP TOPIC PARTITIONS GROUP EXISTING MORE
//
// Set COMPAT_FRANZ_DEBUG=1 for franz-go's own debug log on stderr.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// stepTimeout bounds every subcommand, so a hang is reported instead of waiting for the test's
// own timeout.
const stepTimeout = 45 * time.Second

func main() {
	if len(os.Args) < 3 {
		fail("usage: compat-franz admin|produce|consume|group|reset BOOTSTRAP ...")
	}
	cmd, bootstrap, args := os.Args[1], os.Args[2], os.Args[3:]
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var out map[string]any
	switch cmd {
	case "admin":
		need(args, 2)
		out = admin(ctx, bootstrap, args[0], int32(atoi(args[1])))
	case "produce":
		need(args, 4)
		out = produce(ctx, bootstrap, args[0], int32(atoi(args[1])), args[2], atoi(args[3]))
	case "consume":
		need(args, 3)
		out = consume(ctx, bootstrap, args[0], args[1], atoi(args[2]))
	case "group":
		need(args, 2)
		out = group(ctx, bootstrap, args[0], args[1])
	case "reset":
		need(args, 2)
		out = reset(ctx, bootstrap, args[0], args[1])
	case "handoff":
		need(args, 5)
		out = handoff(ctx, bootstrap, args[0], int32(atoi(args[1])), args[2], atoi(args[3]), atoi(args[4]))
	default:
		fail("unknown subcommand " + cmd)
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fail(err.Error())
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "compat-franz:", msg)
	os.Exit(2)
}

func need(args []string, n int) {
	if len(args) != n {
		fail(fmt.Sprintf("expected %d arguments after BOOTSTRAP, got %d", n, len(args)))
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: " + s)
	}
	return n
}

// errString is "" for nil, else the error's text (kerr errors read e.g. "TOPIC_ALREADY_EXISTS: ...").
func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// securityOpts: TLS from COMPAT_FRANZ_TLS_CA (and a client certificate from COMPAT_FRANZ_TLS_CERT
// and COMPAT_FRANZ_TLS_KEY), SASL from COMPAT_FRANZ_SASL="MECHANISM:user:password".
func securityOpts() []kgo.Opt {
	var opts []kgo.Opt
	if ca := os.Getenv("COMPAT_FRANZ_TLS_CA"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			fail("read CA: " + err.Error())
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if cert := os.Getenv("COMPAT_FRANZ_TLS_CERT"); cert != "" {
			pair, err := tls.LoadX509KeyPair(cert, os.Getenv("COMPAT_FRANZ_TLS_KEY"))
			if err != nil {
				fail("load client certificate: " + err.Error())
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		opts = append(opts, kgo.DialTLSConfig(cfg))
	}
	if spec := os.Getenv("COMPAT_FRANZ_SASL"); spec != "" {
		parts := strings.SplitN(spec, ":", 3)
		if len(parts) != 3 {
			fail("COMPAT_FRANZ_SASL is MECHANISM:user:password")
		}
		switch parts[0] {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: parts[1], Pass: parts[2]}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: parts[1], Pass: parts[2]}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: parts[1], Pass: parts[2]}.AsSha512Mechanism()))
		default:
			fail("unknown mechanism " + parts[0])
		}
	}
	return opts
}

func newClient(bootstrap string, opts ...kgo.Opt) *kgo.Client {
	base := []kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ClientID("ledgerstream-compat-franz")}
	if os.Getenv("COMPAT_FRANZ_DEBUG") != "" {
		base = append(base, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	base = append(base, securityOpts()...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		fail("kgo.NewClient: " + err.Error())
	}
	return cl
}

// admin: kadm CreateTopic (and again, expecting TOPIC_ALREADY_EXISTS), ValidateCreateTopics,
// Metadata (brokers, controller, cluster, the topic's partitions), DescribeTopicConfigs,
// ListStartOffsets and ListEndOffsets of the new, empty topic.
func admin(ctx context.Context, bootstrap, topic string, partitions int32) map[string]any {
	cl := newClient(bootstrap)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}

	created, err := adm.CreateTopic(ctx, partitions, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")}, topic)
	out["create"] = errString(err)
	out["create.topicId"] = hex.EncodeToString(created.ID[:])
	out["create.partitions"] = created.NumPartitions
	_, err = adm.CreateTopic(ctx, partitions, 1, nil, topic)
	out["createAgain"] = errString(err)

	validated, err := adm.ValidateCreateTopics(ctx, 3, 1, nil, topic+"-validate-only")
	out["validateOnly"] = errString(err)
	if err == nil {
		out["validateOnly"] = errString(validated.Error())
	}

	md, err := adm.Metadata(ctx, topic)
	out["metadata"] = errString(err)
	if err == nil {
		brokers := []string{}
		for _, b := range md.Brokers {
			brokers = append(brokers, fmt.Sprintf("%d@%s:%d", b.NodeID, b.Host, b.Port))
		}
		out["brokers"] = brokers
		out["controller"] = md.Controller
		out["cluster"] = md.Cluster
		td := md.Topics[topic]
		out["topic.error"] = errString(td.Err)
		out["topic.id"] = hex.EncodeToString(td.ID[:])
		parts := []map[string]any{}
		for _, p := range td.Partitions.Sorted() {
			parts = append(parts, map[string]any{
				"partition": p.Partition, "leader": p.Leader, "replicas": p.Replicas, "isr": p.ISR, "error": errString(p.Err),
			})
		}
		out["topic.partitions"] = parts
	}
	all, err := adm.ListTopics(ctx)
	out["list"] = errString(err)
	out["list.names"] = all.Names()

	configs, err := adm.DescribeTopicConfigs(ctx, topic)
	out["configs"] = errString(err)
	if err == nil {
		cfg := map[string]string{}
		for _, rc := range configs {
			if rc.Err != nil {
				out["configs"] = errString(rc.Err)
			}
			for _, c := range rc.Configs {
				if c.Key == "retention.ms" || c.Key == "cleanup.policy" {
					cfg[c.Key] = c.MaybeValue() + " " + c.Source.String()
				}
			}
		}
		out["configs.values"] = cfg
	}

	starts, err := adm.ListStartOffsets(ctx, topic)
	out["startOffsets"] = listed(starts, err)
	ends, err := adm.ListEndOffsets(ctx, topic)
	out["endOffsets"] = listed(ends, err)
	return out
}

// listed renders listed offsets as {"partition": offset} (or {"error": ...}).
func listed(l kadm.ListedOffsets, err error) map[string]any {
	m := map[string]any{}
	if err != nil {
		m["error"] = err.Error()
		return m
	}
	l.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			m[strconv.Itoa(int(o.Partition))] = o.Err.Error()
		} else {
			m[strconv.Itoa(int(o.Partition))] = o.Offset
		}
	})
	return m
}

// batchCodecs collects the compression codec of every record batch the client wrote or read,
// through franz-go's hooks.
type batchCodecs struct {
	mu      sync.Mutex
	codes   map[uint8]int
	records int
}

func (b *batchCodecs) add(c uint8, records int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.codes[c]++
	b.records += records
}

func (b *batchCodecs) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.ProduceBatchMetrics) {
	b.add(m.CompressionType, m.NumRecords)
}

func (b *batchCodecs) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, _ int32, m kgo.FetchBatchMetrics) {
	b.add(m.CompressionType, m.NumRecords)
}

// awaitRecords waits (up to 5 s) until the hooks have seen n records: franz-go calls
// OnProduceBatchWritten from a goroutine of its own, so some may still be pending after Flush.
func (b *batchCodecs) awaitRecords(n int) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b.mu.Lock()
		seen := b.records
		b.mu.Unlock()
		if seen >= n {
			return
		}
	}
}

func (b *batchCodecs) summary() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	names := []string{"none", "gzip", "snappy", "lz4", "zstd"}
	out := map[string]int{}
	for c, n := range b.codes {
		name := strconv.Itoa(int(c))
		if int(c) < len(names) {
			name = names[c]
		}
		out[name] = n
	}
	return out
}

func codec(name string) kgo.CompressionCodec {
	switch name {
	case "none":
		return kgo.NoCompression()
	case "gzip":
		return kgo.GzipCompression()
	case "snappy":
		return kgo.SnappyCompression()
	case "lz4":
		return kgo.Lz4Compression()
	case "zstd":
		return kgo.ZstdCompression()
	}
	fail("unknown codec " + name)
	return kgo.NoCompression()
}

type delivered struct {
	Partition int32  `json:"p"`
	Offset    int64  `json:"o"`
	Key       string `json:"k"`
	Value     string `json:"v"`
	Err       string `json:"err,omitempty"`
}

// valuePad makes values compressible: franz-go sends a batch uncompressed when the codec does not
// make it smaller, and the test checks that every batch is stored with the chosen codec.
const valuePad = "agent-event agent-event agent-event agent-event agent-event agent-event"

// produce: COUNT records, record i to partition i % PARTITIONS with key "k<partition>" and value
// "<codec>-<i> <valuePad>", through franz-go's default idempotent producer with acks=all and the codec as
// the only compression choice, in batches of at most 1 KiB. Every produce promise (delivery
// report) is recorded.
func produce(ctx context.Context, bootstrap, topic string, partitions int32, codecName string, count int) map[string]any {
	codecs := &batchCodecs{codes: map[uint8]int{}}
	cl := newClient(bootstrap,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerBatchCompression(codec(codecName)),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(5*time.Millisecond),
		// Small batches: several per partition, up to 5 produce requests in flight (the idempotent
		// default), so sequence numbers run across batches and requests.
		kgo.ProducerBatchMaxBytes(1024),
		kgo.WithHooks(codecs),
	)
	defer cl.Close()
	out := map[string]any{"codec": codecName}

	var mu sync.Mutex
	results := make([]delivered, count)
	for i := 0; i < count; i++ {
		p := int32(i % int(partitions))
		r := &kgo.Record{Partition: p, Key: []byte(fmt.Sprintf("k%d", p)), Value: []byte(fmt.Sprintf("%s-%d %s", codecName, i, valuePad))}
		i := i
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			results[i] = delivered{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value), Err: errString(err)}
		})
	}
	out["flush"] = errString(cl.Flush(ctx))
	mu.Lock()
	out["delivered"] = results
	mu.Unlock()
	id, epoch, err := cl.ProducerID(ctx)
	out["producerId"] = id
	out["producerEpoch"] = epoch
	out["producerIdError"] = errString(err)
	codecs.awaitRecords(count)
	out["batchCodecs"] = codecs.summary()
	return out
}

// consume: joins GROUP (kgo.ConsumerGroup, auto-commit off, reset to the start), polls until
// EXPECTED records arrived (or the step times out), commits with CommitUncommittedOffsets, and,
// while still a member, describes the group with kadm; then leaves.
func consume(ctx context.Context, bootstrap, topic, groupName string, expected int) map[string]any {
	codecs := &batchCodecs{codes: map[uint8]int{}}
	cl := newClient(bootstrap,
		kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup(groupName),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.WithHooks(codecs),
	)
	out := map[string]any{}
	records := []delivered{}
	fetchErrors := []string{}
	pollCtx, cancelPoll := context.WithTimeout(ctx, 30*time.Second)
	for len(records) < expected && pollCtx.Err() == nil {
		fs := cl.PollFetches(pollCtx)
		fs.EachError(func(t string, p int32, err error) {
			if pollCtx.Err() == nil {
				fetchErrors = append(fetchErrors, fmt.Sprintf("%s-%d: %v", t, p, err))
			}
		})
		fs.EachRecord(func(r *kgo.Record) {
			records = append(records, delivered{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
		})
	}
	cancelPoll()
	out["records"] = records
	out["fetchErrors"] = fetchErrors
	out["commit"] = errString(cl.CommitUncommittedOffsets(ctx))
	out["committed"] = epochOffsets(cl.CommittedOffsets())

	adm := kadm.NewClient(cl)
	described, err := adm.DescribeGroups(ctx, groupName)
	out["whileMember"] = describeGroup(described, err, groupName)
	out["batchCodecs"] = codecs.summary()
	cl.Close() // leaves the group (LeaveGroup) and closes the connections
	return out
}

func epochOffsets(m map[string]map[int32]kgo.EpochOffset) map[string]int64 {
	out := map[string]int64{}
	for _, ps := range m {
		for p, o := range ps {
			out[strconv.Itoa(int(p))] = o.Offset
		}
	}
	return out
}

func describeGroup(ds kadm.DescribedGroups, err error, groupName string) map[string]any {
	m := map[string]any{}
	if err != nil {
		m["error"] = err.Error()
		return m
	}
	d, ok := ds[groupName]
	if !ok {
		m["error"] = "group missing from the DescribeGroups response"
		return m
	}
	m["error"] = errString(d.Err)
	m["state"] = d.State
	m["protocolType"] = d.ProtocolType
	m["protocol"] = d.Protocol
	m["coordinator"] = d.Coordinator.NodeID
	members := []map[string]any{}
	for _, mem := range d.Members {
		mm := map[string]any{"memberId": mem.MemberID, "clientId": mem.ClientID, "clientHost": mem.ClientHost}
		if j, ok := mem.Join.AsConsumer(); ok {
			mm["subscribed"] = j.Topics
		}
		if a, ok := mem.Assigned.AsConsumer(); ok {
			assigned := map[string][]int32{}
			for _, t := range a.Topics {
				ps := append([]int32(nil), t.Partitions...)
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				assigned[t.Topic] = ps
			}
			mm["assigned"] = assigned
		}
		members = append(members, mm)
	}
	m["members"] = members
	return m
}

// group: kadm ListGroups, DescribeGroups, FetchOffsets and Lag for a group (after its members left).
func group(ctx context.Context, bootstrap, groupName, topic string) map[string]any {
	cl := newClient(bootstrap)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}

	listedGroups, err := adm.ListGroups(ctx)
	out["list"] = errString(err)
	states := map[string]string{}
	for _, g := range listedGroups.Sorted() {
		states[g.Group] = g.State + "/" + g.ProtocolType
	}
	out["list.groups"] = states

	described, err := adm.DescribeGroups(ctx, groupName)
	out["describe"] = describeGroup(described, err, groupName)

	offsets, err := adm.FetchOffsets(ctx, groupName)
	out["offsets"] = offsetResponses(offsets, err, topic)

	lags, err := adm.Lag(ctx, groupName)
	lag := map[string]any{}
	if err != nil {
		lag["error"] = err.Error()
	} else if l, ok := lags[groupName]; ok {
		lag["error"] = errString(l.Error())
		lag["total"] = l.Lag.Total()
		for _, ps := range l.Lag {
			for p, ml := range ps {
				lag[strconv.Itoa(int(p))] = map[string]any{"commit": ml.Commit.At, "end": ml.End.Offset, "lag": ml.Lag}
			}
		}
	} else {
		lag["error"] = "group missing from the Lag response"
	}
	out["lag"] = lag
	return out
}

func offsetResponses(os kadm.OffsetResponses, err error, topic string) map[string]any {
	m := map[string]any{}
	if err != nil {
		m["error"] = err.Error()
		return m
	}
	os.Each(func(o kadm.OffsetResponse) {
		if o.Topic != topic {
			return
		}
		if o.Err != nil {
			m[strconv.Itoa(int(o.Partition))] = o.Err.Error()
		} else {
			m[strconv.Itoa(int(o.Partition))] = o.At
		}
	})
	return m
}

// reset: the kadm equivalent of `kafka-consumer-groups --reset-offsets --to-earliest`: list the
// topic's start offsets and commit them for the (empty) group, then fetch them back.
func reset(ctx context.Context, bootstrap, groupName, topic string) map[string]any {
	cl := newClient(bootstrap)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	out := map[string]any{}
	starts, err := adm.ListStartOffsets(ctx, topic)
	out["startOffsets"] = listed(starts, err)
	if err != nil {
		return out
	}
	committed, err := adm.CommitOffsets(ctx, groupName, starts.Offsets())
	out["commit"] = offsetResponses(committed, err, topic)
	if err == nil {
		out["commit.error"] = errString(committed.Error())
	}
	fetched, err := adm.FetchOffsets(ctx, groupName)
	out["offsets"] = offsetResponses(fetched, err, topic)
	return out
}

// member is one consumer of a group, with its assignment as its callbacks report it.
type member struct {
	name  string
	topic string
	cl    *kgo.Client

	mu            sync.Mutex
	assigned      map[int32]bool
	records       []delivered
	fetchErrors   []string
	revokeCommits []string // one entry per revocation: "" or the commit's error
	lost          int
}

// newMember joins GROUP with kgo's default balancer (cooperative-sticky), auto-commit off, and
// an OnPartitionsRevoked that commits what was polled (CommitUncommittedOffsets) before the
// partitions move, as kgo's documentation recommends for manual commits.
func newMember(bootstrap, topic, groupName, name string) *member {
	m := &member{name: name, topic: topic, assigned: map[int32]bool{}}
	m.cl = newClient(bootstrap,
		kgo.ClientID(name),
		kgo.ConsumeTopics(topic),
		kgo.ConsumerGroup(groupName),
		kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range a[topic] {
				m.assigned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			err := cl.CommitUncommittedOffsets(ctx)
			m.mu.Lock()
			defer m.mu.Unlock()
			m.revokeCommits = append(m.revokeCommits, errString(err))
			for _, p := range r[topic] {
				delete(m.assigned, p)
			}
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.lost++
			for _, p := range l[topic] {
				delete(m.assigned, p)
			}
		}),
	)
	return m
}

// poll fetches for up to d and keeps what arrived.
func (m *member) poll(ctx context.Context, d time.Duration) {
	pctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	fs := m.cl.PollFetches(pctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	fs.EachError(func(t string, p int32, err error) {
		if pctx.Err() == nil {
			m.fetchErrors = append(m.fetchErrors, fmt.Sprintf("%s-%d: %v", t, p, err))
		}
	})
	fs.EachRecord(func(r *kgo.Record) {
		m.records = append(m.records, delivered{Partition: r.Partition, Offset: r.Offset, Key: string(r.Key), Value: string(r.Value)})
	})
}

func (m *member) assignment() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := []int32{}
	for p := range m.assigned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

func (m *member) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.records)
}

// handoff: a cooperative (KIP-429) rebalance with committed offsets handed over.
//  1. c1 joins GROUP alone, reads the EXISTING records of TOPIC and commits.
//  2. c2 joins: kgo's cooperative-sticky balancer moves some partitions from c1 to c2 in an
//     incremental rebalance (c1 revokes and commits, then a second join hands them to c2), without
//     c1 giving up the others. The group is described once both assignments settle.
//  3. MORE records are produced; c1 and c2 together read exactly those, each partition's from its
//     owner (c2 starting at the offsets c1 committed, so nothing is read twice).
//  4. c2 leaves; c1 gets every partition back.
func handoff(ctx context.Context, bootstrap, topic string, partitions int32, groupName string, existing, more int) map[string]any {
	out := map[string]any{}
	c1 := newMember(bootstrap, topic, groupName, "handoff-c1")
	defer c1.cl.Close()
	for c1.count() < existing && ctx.Err() == nil {
		c1.poll(ctx, 500*time.Millisecond)
	}
	out["c1.initialRecords"] = c1.count()
	out["c1.initialAssignment"] = c1.assignment()
	out["c1.initialCommit"] = errString(c1.cl.CommitUncommittedOffsets(ctx))

	c2 := newMember(bootstrap, topic, groupName, "handoff-c2")
	closedC2 := false
	defer func() {
		if !closedC2 {
			c2.cl.Close()
		}
	}()
	adm := kadm.NewClient(c1.cl)
	settled := false
	var described map[string]any
	for deadline := time.Now().Add(25 * time.Second); !settled && time.Now().Before(deadline) && ctx.Err() == nil; {
		c1.poll(ctx, 100*time.Millisecond)
		c2.poll(ctx, 100*time.Millisecond)
		a1, a2 := c1.assignment(), c2.assignment()
		if len(a1) == 0 || len(a2) == 0 || len(a1)+len(a2) != int(partitions) {
			continue
		}
		ds, err := adm.DescribeGroups(ctx, groupName)
		described = describeGroup(ds, err, groupName)
		if members, _ := described["members"].([]map[string]any); described["state"] == "Stable" && len(members) == 2 {
			settled = true
		}
	}
	out["settled"] = settled
	out["described"] = described
	out["c1.assignment"] = c1.assignment()
	out["c2.assignment"] = c2.assignment()
	out["c1.revokeCommits"] = append([]string(nil), c1.revokeCommits...)
	// Everything was committed before the move: neither member reads anything until new records come.
	out["c1.recordsDuringRebalance"] = c1.count() - existing
	out["c2.recordsDuringRebalance"] = c2.count()
	if !settled {
		return out
	}

	before1, before2 := c1.count(), c2.count()
	p := produce(ctx, bootstrap, topic, partitions, "zstd", more)
	out["produce.flush"] = p["flush"]
	for c1.count()+c2.count()-before1-before2 < more && ctx.Err() == nil {
		c1.poll(ctx, 100*time.Millisecond)
		c2.poll(ctx, 100*time.Millisecond)
	}
	c1.mu.Lock()
	out["c1.newRecords"] = append([]delivered{}, c1.records[before1:]...)
	c1.mu.Unlock()
	c2.mu.Lock()
	out["c2.newRecords"] = append([]delivered{}, c2.records[before2:]...)
	c2.mu.Unlock()
	out["c1.commit"] = errString(c1.cl.CommitUncommittedOffsets(ctx))
	out["c2.commit"] = errString(c2.cl.CommitUncommittedOffsets(ctx))

	c2.cl.Close() // LeaveGroup: c1 is given c2's partitions back
	closedC2 = true
	for deadline := time.Now().Add(15 * time.Second); len(c1.assignment()) != int(partitions) && time.Now().Before(deadline) && ctx.Err() == nil; {
		c1.poll(ctx, 100*time.Millisecond)
	}
	out["c1.finalAssignment"] = c1.assignment()
	out["c1.recordsAfterC2Left"] = c1.count() - before1 - len(out["c1.newRecords"].([]delivered))
	c1.mu.Lock()
	out["c1.fetchErrors"] = append([]string{}, c1.fetchErrors...)
	out["c1.lost"] = c1.lost
	c1.mu.Unlock()
	c2.mu.Lock()
	out["c2.fetchErrors"] = append([]string{}, c2.fetchErrors...)
	out["c2.lost"] = c2.lost
	out["c2.revokeCommits"] = append([]string(nil), c2.revokeCommits...)
	c2.mu.Unlock()
	return out
}
