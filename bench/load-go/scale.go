package main

// The scale scenario's client side (issue 13, target 7): hold many idle client connections,
// then, beside them, time Metadata for a topic of many partitions, produce one record to every
// partition, and time Fetch of one partition and of all of them. Each answer is checked (error
// codes, the partition count, a record in every fetched partition), so a latency is never that
// of a refusal.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

type scaleConfig struct {
	target
	connections                      int
	metadataRequests, fetchRequests  int
	fetchAllRequests, openInParallel int
}

type scaleResult struct {
	Connections                   int64   `json:"connections"`
	ConnectionsOpenS              float64 `json:"connectionsOpenS"`
	Metadata                      summary `json:"metadata"`
	MetadataPartitions            int     `json:"metadataPartitions"`
	Produced                      int64   `json:"produced"`
	ProduceErrors                 int64   `json:"produceErrors"`
	FirstError                    string  `json:"firstError"`
	ProduceAllS                   float64 `json:"produceAllS"`
	Produce                       summary `json:"produce"`
	FetchOne                      summary `json:"fetchOne"`
	FetchAll                      summary `json:"fetchAll"`
	FetchAllPartitionsWithRecords int     `json:"fetchAllPartitionsWithRecords"`
}

func parseScale(args []string) (scaleConfig, error) {
	var c scaleConfig
	fs := targetFlags("scale", &c.target)
	fs.IntVar(&c.connections, "connections", 2000, "idle client connections held meanwhile")
	fs.IntVar(&c.openInParallel, "open-parallel", 50, "connections opened at once")
	fs.IntVar(&c.metadataRequests, "metadata-requests", 20, "Metadata requests timed")
	fs.IntVar(&c.fetchRequests, "fetch-requests", 200, "one-partition Fetch requests timed")
	fs.IntVar(&c.fetchAllRequests, "fetch-all-requests", 5, "all-partition Fetch requests timed")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.topic == "" || c.partitions < 1 || c.connections < 0 || c.openInParallel < 1 {
		return c, fmt.Errorf("scale: bad flags %+v", c)
	}
	return c, nil
}

func runScale(args []string) (any, error) {
	c, err := parseScale(args)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	var out scaleResult
	idle, openS, err := openIdle(ctx, c)
	defer func() {
		for _, cl := range idle {
			cl.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	out.Connections, out.ConnectionsOpenS = int64(len(idle)), openS
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.DefaultProduceTopic(c.topic))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	meta, err := timeMetadata(ctx, cl, c, &out)
	if err != nil {
		return nil, err
	}
	produceAll(ctx, cl, c, &out)
	if err := timeFetches(ctx, cl, c, meta, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// openIdle opens c.connections clients, each with one connection (ApiVersions answered), and
// keeps them: the connections a broker of many agents holds while it serves the others.
func openIdle(ctx context.Context, c scaleConfig) ([]*kgo.Client, float64, error) {
	begin := time.Now()
	clients := make([]*kgo.Client, c.connections)
	errs := make(chan error, c.connections)
	sem := make(chan struct{}, c.openInParallel)
	var wg sync.WaitGroup
	for i := range clients {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap))
		if err != nil {
			return clients[:i], 0, err
		}
		clients[i] = cl
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := cl.Ping(ctx); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return clients, 0, fmt.Errorf("opening idle connections: %w", err)
	}
	progress("%d idle connections open", len(clients))
	return clients, time.Since(begin).Seconds(), nil
}

func timeMetadata(ctx context.Context, cl *kgo.Client, c scaleConfig, out *scaleResult) (
	*kmsg.MetadataResponseTopic, error) {
	lat := &latencies{}
	var last *kmsg.MetadataResponseTopic
	for i := 0; i < c.metadataRequests; i++ {
		req := kmsg.NewPtrMetadataRequest()
		t := kmsg.NewMetadataRequestTopic()
		t.Topic = kmsg.StringPtr(c.topic)
		req.Topics = append(req.Topics, t)
		begin := time.Now()
		resp, err := req.RequestWith(ctx, cl)
		lat.add(float64(time.Since(begin).Microseconds()) / 1000)
		if err != nil {
			return nil, fmt.Errorf("metadata: %w", err)
		}
		if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) != c.partitions {
			return nil, fmt.Errorf("metadata: %d topics, want 1 with %d partitions", len(resp.Topics), c.partitions)
		}
		last = &resp.Topics[0]
	}
	out.Metadata, out.MetadataPartitions = lat.summary(), len(last.Partitions)
	return last, nil
}

func produceAll(ctx context.Context, cl *kgo.Client, c scaleConfig, out *scaleResult) {
	lat := &latencies{}
	var produced, errs atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	begin := time.Now()
	for p := 0; p < c.partitions; p++ {
		wg.Add(1)
		sentAt := time.Now()
		r := &kgo.Record{Partition: int32(p), Value: []byte(fmt.Sprintf(`{"partition":%d}`, p))}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				errs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			produced.Add(1)
			lat.add(float64(time.Since(sentAt).Microseconds()) / 1000)
		})
	}
	wg.Wait()
	out.ProduceAllS = time.Since(begin).Seconds()
	out.Produced, out.ProduceErrors, out.Produce = produced.Load(), errs.Load(), lat.summary()
	out.FirstError, _ = firstErr.Load().(string)
}

func fetchRequest(t *kmsg.MetadataResponseTopic, partitions []int32) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID, req.MaxWaitMillis, req.MinBytes, req.MaxBytes = -1, 0, 1, 64<<20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = *t.Topic, t.TopicID
	for _, p := range partitions {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, 0, 1<<20
		rp.CurrentLeaderEpoch, rp.LogStartOffset = -1, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// fetchOnce sends one Fetch to the leader and returns how many partitions came back with records.
func fetchOnce(ctx context.Context, cl *kgo.Client, leader int32, req *kmsg.FetchRequest) (int, error) {
	resp, err := req.RequestWith(ctx, cl.Broker(int(leader)))
	if err != nil {
		return 0, err
	}
	if resp.ErrorCode != 0 || len(resp.Topics) != 1 {
		return 0, fmt.Errorf("fetch: error %d, %d topics", resp.ErrorCode, len(resp.Topics))
	}
	withRecords := 0
	for _, p := range resp.Topics[0].Partitions {
		if p.ErrorCode != 0 {
			return 0, fmt.Errorf("fetch: partition %d error %d", p.Partition, p.ErrorCode)
		}
		if len(p.RecordBatches) > 0 {
			withRecords++
		}
	}
	return withRecords, nil
}

func timeFetches(ctx context.Context, cl *kgo.Client, c scaleConfig, t *kmsg.MetadataResponseTopic,
	out *scaleResult) error {
	leader := t.Partitions[0].Leader
	one, all := &latencies{}, &latencies{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < c.fetchRequests; i++ {
		p := int32(rng.IntN(c.partitions))
		begin := time.Now()
		n, err := fetchOnce(ctx, cl, leader, fetchRequest(t, []int32{p}))
		one.add(float64(time.Since(begin).Microseconds()) / 1000)
		if err != nil || n != 1 {
			return fmt.Errorf("fetch of partition %d: %d with records, %v", p, n, err)
		}
	}
	every := make([]int32, c.partitions)
	for p := range every {
		every[p] = int32(p)
	}
	for i := 0; i < c.fetchAllRequests; i++ {
		begin := time.Now()
		n, err := fetchOnce(ctx, cl, leader, fetchRequest(t, every))
		all.add(float64(time.Since(begin).Microseconds()) / 1000)
		if err != nil {
			return fmt.Errorf("fetch of all partitions: %w", err)
		}
		out.FetchAllPartitionsWithRecords = n
	}
	out.FetchOne, out.FetchAll = one.summary(), all.summary()
	return nil
}
