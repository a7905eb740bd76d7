// Command compat-franz-txn drives franz-go's transactions against a broker, one subcommand per
// step, each printing one JSON object (test/txn/franz-transactions.test.ts):
//
//	session BOOTSTRAP GROUP IN OUT TXNID EXPECTED ABORT_EVERY
//	    a kgo.GroupTransactSession copies every record of IN to OUT as "copy-<value>",
//	    consume-transform-produce with the offsets in the transaction; every ABORT_EVERY-th
//	    transaction ends with End(ctx, kgo.TryAbort) instead, and the session rewinds to the
//	    committed offsets, so those records are copied again by a later transaction.
//	abort BOOTSTRAP TOPIC TXNID COUNT
//	    a plain transactional producer: a transaction of COUNT "aborted-<i>" records aborted with
//	    EndTransaction(TryAbort), then one of COUNT "committed-<i>" records committed.
//	read BOOTSTRAP TOPIC ISOLATION EXPECTED
//	    every value of TOPIC from the start as a committed|uncommitted reader sees it: until
//	    EXPECTED arrived and then readSettle more with nothing new, or readWait in all.
//
// The producers use franz-go's default compression (snappy), which kafkajs cannot read, so the
// test reads with franz-go too.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// stepTimeout bounds every subcommand, so a hang is reported rather than waiting for the test's.
const stepTimeout = 90 * time.Second

// maxTransactions bounds the session loop: a copier that never finishes stops and says so.
const maxTransactions = 1000

// step is a subcommand: how many arguments it takes after BOOTSTRAP, and what it does.
type step struct {
	args int
	run  func(ctx context.Context, bootstrap string, a []string) map[string]any
}

var steps = map[string]step{
	"session": {6, func(ctx context.Context, b string, a []string) map[string]any {
		return session(ctx, b, a[0], a[1], a[2], a[3], atoi(a[4]), atoi(a[5]))
	}},
	"abort": {3, func(ctx context.Context, b string, a []string) map[string]any {
		return abort(ctx, b, a[0], a[1], atoi(a[2]))
	}},
	"read": {3, func(ctx context.Context, b string, a []string) map[string]any {
		return read(ctx, b, a[0], a[1] == "committed", atoi(a[2]))
	}},
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: compat-franz-txn session|abort|read BOOTSTRAP ...")
	}
	st, ok := steps[os.Args[1]]
	if !ok || len(os.Args)-3 != st.args {
		fail(fmt.Sprintf("%s takes %d arguments after BOOTSTRAP", os.Args[1], st.args))
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	b, err := json.Marshal(st.run(ctx, os.Args[2], os.Args[3:]))
	if err != nil {
		fail(err.Error())
	}
	fmt.Println(string(b))
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "compat-franz-txn: "+msg)
	os.Exit(1)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		fail("not a number: " + s)
	}
	return n
}

func baseOpts(bootstrap, txnID string) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ClientID("ledgerstream-compat-franz-txn"),
		kgo.TransactionalID(txnID), kgo.TransactionTimeout(30 * time.Second),
		kgo.RequiredAcks(kgo.AllISRAcks())}
	if os.Getenv("COMPAT_FRANZ_DEBUG") != "" {
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	return opts
}

func session(ctx context.Context, bootstrap, group, in, out, txnID string, expected, abortEvery int) map[string]any {
	s, err := kgo.NewGroupTransactSession(append(baseOpts(bootstrap, txnID),
		kgo.ConsumerGroup(group), kgo.ConsumeTopics(in), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond),
		kgo.RequireStableFetchOffsets())...)
	if err != nil {
		fail("NewGroupTransactSession: " + err.Error())
	}
	defer s.Close()
	copied, committed, aborted, ends := 0, 0, 0, 0
	var endErrors []string
	for copied < expected && ends < maxTransactions && ctx.Err() == nil {
		fetches := s.PollRecords(ctx, 50)
		if fetches.IsClientClosed() {
			fail("client closed")
		}
		var fetchErrors []string
		fetches.EachError(func(t string, p int32, err error) {
			fetchErrors = append(fetchErrors, fmt.Sprintf("%s/%d: %v", t, p, err))
		})
		if len(fetchErrors) > 0 {
			endErrors = append(endErrors, fetchErrors...)
			continue
		}
		records := fetches.Records()
		if len(records) == 0 {
			continue
		}
		if err := s.Begin(); err != nil {
			fail("Begin: " + err.Error())
		}
		var produceErr error
		var produced sync.WaitGroup
		for _, r := range records {
			produced.Add(1)
			s.Produce(ctx, &kgo.Record{Topic: out, Key: r.Key, Value: []byte("copy-" + string(r.Value))},
				func(_ *kgo.Record, err error) {
					if err != nil {
						produceErr = err // promises run one at a time
					}
					produced.Done()
				})
		}
		ends++
		try := kgo.TryCommit
		if abortEvery > 0 && ends%abortEvery == 0 {
			try = kgo.TryAbort
			// Without this flush End would drop the buffered records unsent: the aborted
			// transaction is to have written its copies, which read_committed must not see.
			if err := s.Client().Flush(ctx); err != nil {
				fail("Flush: " + err.Error())
			}
		}
		ok, err := s.End(ctx, try)
		produced.Wait()
		if produceErr != nil && try == kgo.TryCommit {
			endErrors = append(endErrors, "produce: "+produceErr.Error())
		}
		switch {
		case err != nil:
			endErrors = append(endErrors, err.Error())
		case ok:
			committed++
			copied += len(records)
		default:
			aborted++
		}
	}
	return map[string]any{"copied": copied, "committed": committed, "aborted": aborted, "errors": endErrors}
}

func abort(ctx context.Context, bootstrap, topic, txnID string, count int) map[string]any {
	cl, err := kgo.NewClient(append(baseOpts(bootstrap, txnID), kgo.DefaultProduceTopic(topic))...)
	if err != nil {
		fail("kgo.NewClient: " + err.Error())
	}
	defer cl.Close()
	out := map[string]any{}
	for _, step := range []struct {
		prefix string
		end    kgo.TransactionEndTry
	}{{"aborted", kgo.TryAbort}, {"committed", kgo.TryCommit}} {
		if err := cl.BeginTransaction(); err != nil {
			fail("BeginTransaction: " + err.Error())
		}
		var produceErrors []string
		for i := 0; i < count; i++ {
			r := &kgo.Record{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte(fmt.Sprintf("%s-%d", step.prefix, i))}
			if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
				produceErrors = append(produceErrors, err.Error())
			}
		}
		if step.end == kgo.TryAbort {
			// Records already sent stay in the log; AbortBufferedRecords drops what is not.
			if err := cl.AbortBufferedRecords(ctx); err != nil {
				fail("AbortBufferedRecords: " + err.Error())
			}
		}
		out[step.prefix+".produce"] = produceErrors
		out[step.prefix+".end"] = errString(cl.EndTransaction(ctx, step.end))
	}
	return out
}

// readSettle is how long a reader keeps reading once it has what it expected (more would be a
// duplicate or a leaked aborted record); readWait bounds the whole read.
const (
	readSettle = 2 * time.Second
	readWait   = 30 * time.Second
)

func read(ctx context.Context, bootstrap, topic string, committed bool, expected int) map[string]any {
	isolation := kgo.ReadUncommitted()
	if committed {
		isolation = kgo.ReadCommitted()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.FetchIsolationLevel(isolation), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		fail("kgo.NewClient: " + err.Error())
	}
	defer cl.Close()
	values := []string{}
	var fetchErrors []string
	deadline := time.Now().Add(readWait)
	var settleBy time.Time
	for time.Now().Before(deadline) && (settleBy.IsZero() || time.Now().Before(settleBy)) {
		pollCtx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fetches := cl.PollFetches(pollCtx)
		cancel()
		fetches.EachError(func(t string, p int32, err error) {
			if err != context.DeadlineExceeded {
				fetchErrors = append(fetchErrors, fmt.Sprintf("%s/%d: %v", t, p, err))
			}
		})
		fetches.EachRecord(func(r *kgo.Record) { values = append(values, string(r.Value)) })
		if settleBy.IsZero() && len(values) >= expected {
			settleBy = time.Now().Add(readSettle)
		}
	}
	sort.Strings(values)
	return map[string]any{"values": values, "errors": fetchErrors}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
