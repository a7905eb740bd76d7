// Command bench-load generates the benchmark loads that need many Kafka clients at once, which
// neither Kafka's Java perf tools (one producer per JVM) nor kafkajs (one event loop, about
// 1 ms of CPU per request) can drive from a 2-core machine without becoming the bottleneck:
// a franz-go client is a few goroutines and buffers, so a thousand of them fit in one process
// that spends its CPU on the wire, not on itself. Each subcommand prints one JSON object on
// stdout (bench/compare/fleet.ts and bench/scale/main.ts parse it); progress goes to stderr.
//
//	bench-load fleet -bootstrap H:P -topic T -group-prefix G [-producers 1000 -rate 10 ...]
//	bench-load scale -bootstrap H:P -topic T -partitions N [-connections 2000 ...]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fail("usage: bench-load fleet|scale -flags (see -h of each)")
	}
	var out any
	var err error
	switch os.Args[1] {
	case "fleet":
		out, err = runFleet(os.Args[2:])
	case "scale":
		out, err = runScale(os.Args[2:])
	default:
		fail("unknown subcommand " + os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fail(err.Error())
	}
}

// target is what every subcommand is pointed at: a broker and a topic that exists already.
type target struct {
	bootstrap, topic string
	partitions       int
}

// targetFlags starts a subcommand's flags with the target's.
func targetFlags(name string, t *target) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.StringVar(&t.bootstrap, "bootstrap", "127.0.0.1:9092", "bootstrap servers")
	fs.StringVar(&t.topic, "topic", "", "the topic (exists already)")
	fs.IntVar(&t.partitions, "partitions", 0, "its partition count")
	return fs
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "bench-load:", msg)
	os.Exit(1)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench-load: "+format+"\n", args...)
}
