// Writes records to Kafka byte for byte as it reads them, header keys included: Go strings hold
// any bytes, so a key need not be UTF-8, which no Python client can write. The e2e tests use it to
// write what a producer in another language may.
//
// Each line of standard input is a JSON record (byte strings in base64):
//
//	{"topic": "t", "partition": 0, "value": "AAE=", "headers": [{"key": "//4=", "value": "eA=="}]}
//
// It prints one line per record once Kafka acknowledged it: "partition offset".
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type header struct {
	Key   []byte `json:"key"`
	Value []byte `json:"value"`
}

type record struct {
	Topic     string   `json:"topic"`
	Partition int32    `json:"partition"`
	Value     []byte   `json:"value"`
	Headers   []header `json:"headers"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: raw_producer BOOTSTRAP_SERVERS < records.jsonl")
		os.Exit(2)
	}
	client, err := kgo.NewClient(
		kgo.SeedBrokers(os.Args[1]),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)
	if err != nil {
		fail(err)
	}
	defer client.Close()
	input := bufio.NewScanner(os.Stdin)
	input.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for input.Scan() {
		var r record
		if err := json.Unmarshal(input.Bytes(), &r); err != nil {
			fail(err)
		}
		out := &kgo.Record{Topic: r.Topic, Partition: r.Partition, Value: r.Value}
		for _, h := range r.Headers {
			out.Headers = append(out.Headers, kgo.RecordHeader{Key: string(h.Key), Value: h.Value})
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := client.ProduceSync(ctx, out).FirstErr()
		cancel()
		if err != nil {
			fail(err)
		}
		fmt.Printf("%d %d\n", out.Partition, out.Offset)
	}
	if err := input.Err(); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "raw_producer:", err)
	os.Exit(1)
}
