import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * A consumer group member through Apache Kafka's Java client, for bench/failover: reads TOPIC from
 * its end as the producers write and prints "got PARTITION CREATE_MS AT_MS SEQ" per record (SEQ is
 * the record's value). Runs until standard input closes. The client's default settings otherwise
 * (45 s session, classic group protocol), as a user runs it.
 *
 *     FailoverConsumer BOOTSTRAP TOPIC GROUP
 */
public final class FailoverConsumer {
  public static void main(String[] args) throws Exception {
    Properties props = new Properties();
    props.put("bootstrap.servers", args[0]);
    props.put("group.id", args[2]);
    props.put("auto.offset.reset", "latest");
    props.put("key.deserializer", StringDeserializer.class.getName());
    props.put("value.deserializer", StringDeserializer.class.getName());
    Thread stdin = StdinClosed.watch();
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props)) {
      consumer.subscribe(List.of(args[1]));
      StringBuilder lines = new StringBuilder();
      while (stdin.isAlive()) {
        var records = consumer.poll(Duration.ofMillis(200));
        long now = System.currentTimeMillis();
        for (ConsumerRecord<String, String> r : records) {
          lines.append("got ").append(r.partition()).append(' ').append(r.timestamp()).append(' ')
            .append(now).append(' ').append(r.value()).append('\n');
        }
        System.out.print(lines);
        System.out.flush();
        lines.setLength(0);
      }
    }
  }
}
