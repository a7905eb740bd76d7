import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.Stores;

/**
 * Kafka Streams' word count (as its WordCountDemo, whose configuration is hard-coded) with
 * processing.guarantee=exactly_once_v2, for test/txn/kafka-streams.test.ts:
 *
 *   WordCount BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR
 *
 * Splits each input value into words and writes each word's running count (a long) to OUTPUT.
 * Runs until the test kills it, or the application fails (exit 1); prints RUNNING once it is
 * running. Counts live in an in-memory store restored from its changelog, so a restart rebuilds
 * them from what was committed; the changelog's cleanup.policy is delete (Ledgerstream refuses
 * compact).
 */
public class WordCount {
  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: WordCount BOOTSTRAP APPLICATION_ID INPUT OUTPUT STATE_DIR");
      System.exit(2);
    }
    Properties props = new Properties();
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, args[1]);
    props.put(StreamsConfig.STATE_DIR_CONFIG, args[4]);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    props.put(StreamsConfig.DEFAULT_KEY_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.DEFAULT_VALUE_SERDE_CLASS_CONFIG, Serdes.StringSerde.class);
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    StreamsBuilder builder = new StreamsBuilder();
    builder.<String, String>stream(args[2])
        .flatMapValues(v -> Arrays.asList(v.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((k, w) -> !w.isEmpty())
        .groupBy((k, w) -> w)
        // Ledgerstream has no compacted topics: the changelog is a plain (delete) topic, which
        // restores the same counts, read from its start, as a compacted one would.
        .count(Materialized.<String, Long>as(Stores.inMemoryKeyValueStore("counts"))
            .withLoggingEnabled(Map.of("cleanup.policy", "delete")))
        .toStream()
        .to(args[3], Produced.with(Serdes.String(), Serdes.Long()));
    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch done = new CountDownLatch(1);
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) System.out.println("RUNNING");
      if (now == KafkaStreams.State.ERROR) done.countDown();
    });
    streams.start();
    done.await();
    streams.close(Duration.ofSeconds(10));
    System.out.println("FAILED " + streams.state());
    System.exit(1);
  }
}
