/*
 * A small program against Apache Kafka's Java client (kafka-clients), run by
 * test/compat/java-client.test.ts through test/helpers/kafka-tools.ts. Each subcommand drives one
 * part of the client against a broker and prints what it saw as `name=value` lines on stdout,
 * which the test parses and checks; the program itself only fails (exit 2, stack trace on
 * stderr, an `error=` line on stdout) when a client call throws unexpectedly.
 *
 *   java -cp '<kafka libs>/*:<classes>' Compat admin <bootstrap> <topic>
 *   java -cp '<kafka libs>/*:<classes>' Compat idempotent <bootstrap> <topic> <count> <partitions>
 */
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.DeletedRecords;
import org.apache.kafka.clients.admin.DescribeClusterResult;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.RecordsToDelete;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

public final class Compat {
  private static final int TIMEOUT_MS = 20_000;

  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: Compat admin <bootstrap> <topic> | idempotent <bootstrap> <topic> <count> <partitions>");
      System.exit(64);
    }
    try {
      switch (args[0]) {
        case "admin" -> admin(args[1], args[2]);
        case "idempotent" -> idempotent(args[1], args[2], Integer.parseInt(args[3]), Integer.parseInt(args[4]));
        default -> {
          System.err.println("unknown subcommand " + args[0]);
          System.exit(64);
        }
      }
    } catch (Throwable e) {
      Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
      out("error", cause.getClass().getName() + ": " + cause.getMessage());
      e.printStackTrace();
      System.out.flush();
      System.exit(2);
    }
    System.out.flush();
    // Client threads are closed by now; exit at once rather than wait for stray daemon timers.
    System.exit(0);
  }

  private static void out(String name, Object value) {
    System.out.println(name + "=" + value);
  }

  private static Properties common(String bootstrap) {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS / 2));
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS));
    return p;
  }

  private static String exceptionName(Throwable e) {
    Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
    return cause.getClass().getSimpleName();
  }

  /** describeCluster, createTopics, describeTopics, describeConfigs, listOffsets, deleteRecords. */
  private static void admin(String bootstrap, String topic) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      DescribeClusterResult cluster = admin.describeCluster();
      Collection<Node> nodes = cluster.nodes().get();
      Node controller = cluster.controller().get();
      out("cluster.id", cluster.clusterId().get());
      out("cluster.nodes", nodes.size());
      for (Node n : nodes) out("cluster.node." + n.id(), n.host() + ":" + n.port());
      out("cluster.controller", controller.id());

      NewTopic newTopic = new NewTopic(topic, 2, (short) 1)
          .configs(Map.of("retention.ms", "86400000"));
      admin.createTopics(List.of(newTopic)).all().get();
      out("create", "ok");
      try {
        admin.createTopics(List.of(new NewTopic(topic, 2, (short) 1))).all().get();
        out("create.again", "ok");
      } catch (ExecutionException e) {
        out("create.again", exceptionName(e));
      }
      try {
        admin.createTopics(List.of(new NewTopic(topic + "-validate", 3, (short) 1)),
            new CreateTopicsOptions().validateOnly(true)).all().get();
        out("create.validateOnly", "ok");
      } catch (ExecutionException e) {
        out("create.validateOnly", exceptionName(e));
      }
      out("list.hasValidateOnlyTopic", admin.listTopics().names().get().contains(topic + "-validate"));

      TopicDescription desc = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      out("describe.partitions", desc.partitions().size());
      out("describe.leader.0", desc.partitions().get(0).leader().id());
      out("describe.topicId", desc.topicId());

      ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config config = admin.describeConfigs(List.of(res)).all().get().get(res);
      for (String key : List.of("retention.ms", "cleanup.policy")) {
        ConfigEntry e = config.get(key);
        out("config." + key, e == null ? "missing" : e.value() + " " + e.source());
      }

      // Ten records on partition 0, one batch each (flush after every send), with timestamps a
      // second apart, so a by-timestamp lookup has an exact answer.
      long base = System.currentTimeMillis() - 60_000;
      Properties pp = common(bootstrap);
      pp.put(ProducerConfig.ACKS_CONFIG, "all");
      pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
      pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(TIMEOUT_MS));
      pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS * 2));
      pp.remove(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG);
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
        for (int i = 0; i < 10; i++) {
          producer.send(new ProducerRecord<>(topic, 0, base + i * 1000L, "k" + i, "v" + i)).get();
        }
      }
      TopicPartition tp = new TopicPartition(topic, 0);
      out("offsets.earliest", offset(admin, tp, OffsetSpec.earliest()));
      out("offsets.latest", offset(admin, tp, OffsetSpec.latest()));
      out("offsets.forTimestamp", offset(admin, tp, OffsetSpec.forTimestamp(base + 5000)));
      out("offsets.forFutureTimestamp", offset(admin, tp, OffsetSpec.forTimestamp(base + 3_600_000)));
      out("offsets.latest.1", offset(admin, new TopicPartition(topic, 1), OffsetSpec.latest()));

      DeletedRecords deleted = admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(4)))
          .lowWatermarks().get(tp).get();
      out("deleteRecords.lowWatermark", deleted.lowWatermark());
      out("offsets.earliest.afterDelete", offset(admin, tp, OffsetSpec.earliest()));
      try {
        admin.deleteRecords(Map.of(tp, RecordsToDelete.beforeOffset(11))).all().get();
        out("deleteRecords.pastEnd", "ok");
      } catch (ExecutionException e) {
        out("deleteRecords.pastEnd", exceptionName(e));
      }

      // A consumer starting from the beginning now starts at the new log start.
      Properties cp = consumerProps(bootstrap);
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(cp)) {
        consumer.assign(List.of(tp));
        consumer.seekToBeginning(List.of(tp));
        List<ConsumerRecord<String, String>> records = pollUntil(consumer, 6);
        out("consume.count", records.size());
        out("consume.firstOffset", records.isEmpty() ? -1 : records.get(0).offset());
        out("consume.firstValue", records.isEmpty() ? "" : records.get(0).value());
      }
    }
  }

  private static long offset(Admin admin, TopicPartition tp, OffsetSpec spec) throws Exception {
    ListOffsetsResult.ListOffsetsResultInfo info = admin.listOffsets(Map.of(tp, spec)).partitionResult(tp).get();
    return info.offset();
  }

  private static Properties consumerProps(String bootstrap) {
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    cp.put(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS));
    return cp;
  }

  private static List<ConsumerRecord<String, String>> pollUntil(KafkaConsumer<String, String> consumer, int want) {
    List<ConsumerRecord<String, String>> records = new ArrayList<>();
    long deadline = System.currentTimeMillis() + TIMEOUT_MS;
    while (records.size() < want && System.currentTimeMillis() < deadline) {
      for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(500))) records.add(r);
    }
    return records;
  }

  /**
   * Creates the topic, then an idempotent producer (acks=all, 5 requests in flight, small zstd
   * batches) sends `count` keyed records; then every partition is read back and checked: each
   * record exactly once, per partition in send order, at the offsets the producer was told.
   */
  private static void idempotent(String bootstrap, String topic, int count, int partitions) throws Exception {
    try (Admin admin = Admin.create(common(bootstrap))) {
      admin.createTopics(List.of(new NewTopic(topic, partitions, (short) 1))).all().get();
    }
    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    pp.put(ProducerConfig.ACKS_CONFIG, "all");
    pp.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
    pp.put(ProducerConfig.LINGER_MS_CONFIG, "2");
    pp.put(ProducerConfig.BATCH_SIZE_CONFIG, "2048");
    pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "zstd");
    pp.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, String.valueOf(TIMEOUT_MS));
    pp.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS / 2));
    pp.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(TIMEOUT_MS * 2));
    pp.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    pp.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());

    // Per partition, the values in send order and the offsets the producer was given.
    Map<Integer, List<String>> sentValues = new TreeMap<>();
    Map<Integer, List<Long>> sentOffsets = new TreeMap<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(pp)) {
      List<Future<RecordMetadata>> futures = new ArrayList<>(count);
      List<String> values = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String value = "event-" + i + "-" + "x".repeat(i % 50);
        values.add(value);
        futures.add(producer.send(new ProducerRecord<>(topic, "agent-" + (i % 7), value)));
      }
      producer.flush();
      for (int i = 0; i < count; i++) {
        RecordMetadata md = futures.get(i).get();
        sentValues.computeIfAbsent(md.partition(), k -> new ArrayList<>()).add(values.get(i));
        sentOffsets.computeIfAbsent(md.partition(), k -> new ArrayList<>()).add(md.offset());
      }
    }
    out("sent", count);
    out("sent.partitions", sentValues.size());
    boolean contiguous = true;
    for (List<Long> offsets : sentOffsets.values()) {
      for (int i = 0; i < offsets.size(); i++) if (offsets.get(i) != i) contiguous = false;
    }
    out("sent.offsetsContiguous", contiguous);

    // The broker remembers the producer (DescribeProducers, as kafka-transactions.sh reads it).
    try (Admin admin = Admin.create(common(bootstrap))) {
      TopicPartition tp0 = new TopicPartition(topic, sentValues.keySet().iterator().next());
      List<ProducerState> states = admin.describeProducers(List.of(tp0)).partitionResult(tp0).get().activeProducers();
      out("producers", states.size());
      if (!states.isEmpty()) {
        out("producer.epoch", states.get(0).producerEpoch());
        out("producer.lastSequence", states.get(0).lastSequence());
      }
    }

    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(consumerProps(bootstrap))) {
      List<TopicPartition> tps = new ArrayList<>();
      consumer.partitionsFor(topic).forEach(pi -> tps.add(new TopicPartition(topic, pi.partition())));
      consumer.assign(tps);
      consumer.seekToBeginning(tps);
      List<ConsumerRecord<String, String>> records = pollUntil(consumer, count);
      Map<Integer, List<String>> readValues = new TreeMap<>();
      Map<Integer, List<Long>> readOffsets = new TreeMap<>();
      Set<String> seen = new HashSet<>();
      int duplicates = 0;
      for (ConsumerRecord<String, String> r : records) {
        readValues.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.value());
        readOffsets.computeIfAbsent(r.partition(), k -> new ArrayList<>()).add(r.offset());
        if (!seen.add(r.value())) duplicates++;
      }
      out("read", records.size());
      out("read.duplicates", duplicates);
      out("read.matchesSent", readValues.equals(sentValues) && readOffsets.equals(sentOffsets));
      Map<String, Long> end = new HashMap<>();
      consumer.endOffsets(tps).forEach((tp, off) -> end.put(String.valueOf(tp.partition()), off));
      long total = 0;
      for (long off : end.values()) total += off;
      out("read.endOffsetsTotal", total);
    }
  }
}
