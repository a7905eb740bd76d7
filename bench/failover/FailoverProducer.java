import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A steady idempotent acks=all producer through Apache Kafka's Java client, for bench/failover:
 * one record per partition every 1/RATE s (values 0, 1, 2, ...), and one line
 * "ack PARTITION EPOCH_MS SEQ" per acknowledged record ("fail PARTITION EPOCH_MS ERROR" per failed one). Runs until standard input closes.
 * The client's default settings otherwise (retries, delivery.timeout.ms 120 s), as a user runs it.
 *
 *     FailoverProducer BOOTSTRAP TOPIC PARTITIONS RATE_PER_PARTITION
 */
public final class FailoverProducer {
  public static void main(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int partitions = Integer.parseInt(args[2]);
    double rate = Double.parseDouble(args[3]);
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("enable.idempotence", "true");
    props.put("acks", "all");
    props.put("linger.ms", "5");
    props.put("key.serializer", StringSerializer.class.getName());
    props.put("value.serializer", StringSerializer.class.getName());
    Thread stdin = StdinClosed.watch();
    long intervalNs = (long) (1e9 / rate);
    long next = System.nanoTime();
    long seq = 0;
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(props)) {
      while (stdin.isAlive()) {
        for (int p = 0; p < partitions; p++) {
          final int partition = p;
          final long value = seq;
          producer.send(new ProducerRecord<>(topic, p, null, Long.toString(seq)), (meta, err) -> {
            long now = System.currentTimeMillis();
            synchronized (System.out) {
              if (err == null) System.out.println("ack " + partition + " " + now + " " + value);
              else System.out.println("fail " + partition + " " + now + " " + err.getClass().getSimpleName());
            }
          });
        }
        seq++;
        next += intervalNs;
        long sleepNs = next - System.nanoTime();
        if (sleepNs > 0) Thread.sleep(sleepNs / 1_000_000, (int) (sleepNs % 1_000_000));
        synchronized (System.out) { System.out.flush(); }
      }
      producer.flush();
    }
    System.out.flush();
  }
}
