import java.util.Arrays;
import java.util.Properties;
import java.util.Random;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Transactional produce for bench/compare (issue 11): one Java producer with a transactional id
 * runs transactions of RECORDS_PER_TXN records back to back for DURATION_MS, then prints one line
 *
 *     summary TRANSACTIONS RECORDS ELAPSED_MS COMMIT_P50_MS COMMIT_P99_MS COMMIT_MAX_MS
 *
 * Commit latency is the commitTransaction() call to its return: the producer flushes the
 * transaction's records, sends EndTxn, and returns once the coordinator has written the markers.
 * ProducerPerformance's transactional mode reports per-record latency only, hence this program.
 * The first WARMUP_TRANSACTIONS warm the client's JIT and are not counted. The Java client's
 * defaults otherwise (linger.ms 5, batch.size 16 KiB; transactions imply idempotence and acks=-1);
 * values are random bytes, no key, as ProducerPerformance sends them.
 *
 *     TransactionalProducer BOOTSTRAP TOPIC RECORDS_PER_TXN RECORD_BYTES DURATION_MS TRANSACTIONAL_ID
 */
public final class TransactionalProducer {
  private static final int WARMUP_TRANSACTIONS = 10;
  /** A bound on the latencies kept: at 0.1 ms a commit, 10 minutes of transactions. */
  private static final int TRANSACTIONS_MAX = 6_000_000;

  public static void main(String[] args) throws Exception {
    if (args.length != 6) throw new IllegalArgumentException("usage: BOOTSTRAP TOPIC RECORDS_PER_TXN RECORD_BYTES DURATION_MS TRANSACTIONAL_ID");
    String bootstrap = args[0];
    String topic = args[1];
    int recordsPerTxn = Integer.parseInt(args[2]);
    int recordBytes = Integer.parseInt(args[3]);
    long durationNs = Long.parseLong(args[4]) * 1_000_000L;
    String transactionalId = args[5];
    if (recordsPerTxn < 1 || recordBytes < 1 || durationNs < 1) throw new IllegalArgumentException("sizes must be positive");
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("transactional.id", transactionalId);
    props.put("key.serializer", ByteArraySerializer.class.getName());
    props.put("value.serializer", ByteArraySerializer.class.getName());
    byte[] value = new byte[recordBytes];
    new Random(1).nextBytes(value);
    long[] commitNs = new long[1024];
    int transactions = 0;
    long startNs = 0;
    long endNs;
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      producer.initTransactions();
      int warmup = 0;
      while (true) {
        long now = System.nanoTime();
        if (warmup == WARMUP_TRANSACTIONS && startNs == 0) startNs = now;
        if (startNs != 0 && (now - startNs >= durationNs || transactions == TRANSACTIONS_MAX)) break;
        producer.beginTransaction();
        for (int i = 0; i < recordsPerTxn; i++) producer.send(new ProducerRecord<>(topic, value));
        long commitStart = System.nanoTime();
        producer.commitTransaction();
        long took = System.nanoTime() - commitStart;
        if (warmup < WARMUP_TRANSACTIONS) {
          warmup++;
          continue;
        }
        if (transactions == commitNs.length) commitNs = Arrays.copyOf(commitNs, commitNs.length * 2);
        commitNs[transactions++] = took;
      }
      endNs = System.nanoTime();
    }
    if (transactions == 0) throw new IllegalStateException("no transaction committed in the measured window");
    long[] sorted = Arrays.copyOf(commitNs, transactions);
    Arrays.sort(sorted);
    System.out.printf("summary %d %d %.3f %.3f %.3f %.3f%n", transactions, (long) transactions * recordsPerTxn,
        (endNs - startNs) / 1e6, percentileMs(sorted, 0.5), percentileMs(sorted, 0.99), sorted[sorted.length - 1] / 1e6);
  }

  /** Nearest-rank percentile, as workloads.ts computes the kafkajs ones. */
  private static double percentileMs(long[] sorted, double q) {
    int rank = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] / 1e6;
  }
}
