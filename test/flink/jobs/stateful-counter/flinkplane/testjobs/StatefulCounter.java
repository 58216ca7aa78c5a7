package flinkplane.testjobs;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * A stateful streaming job for the platform's tests: an unbounded, rate-limited sequence 0, 1, 2, … is keyed by
 * {@code value % keys} and counted per key in {@code ValueState}. Every {@code printEvery}-th record of a key prints
 * one line to the TaskManager's stdout:
 *
 * <pre>stateful-counter key=3 count=250 value=996</pre>
 *
 * <p>With exactly-once state, {@code count == value / keys + 1} holds on every line, across any number of restores:
 * the source's position and the counters come back from the same checkpoint. A restart from zero shows as small
 * values; counters lost while the source resumed show as {@code count} below {@code value / keys + 1}. The largest
 * count of a subtask is also the operator gauge {@code highestCount}, readable through the REST API.
 *
 * <p>Arguments (all optional): {@code --records-per-second 20 --keys 4 --print-every 10 --checkpoint-interval-ms N};
 * without the interval the cluster's {@code execution.checkpointing.interval} applies. It uses only APIs present in
 * both Flink 1.20 and 2.x (the Source API's {@code DataGeneratorSource}, {@code OpenContext}).
 */
public final class StatefulCounter {
  /** The prefix of every printed line, for a test to find them in a log. */
  public static final String LINE_PREFIX = "stateful-counter";

  private StatefulCounter() {}

  public static void main(String[] args) throws Exception {
    double recordsPerSecond = 20;
    long keys = 4;
    long printEvery = 10;
    long checkpointIntervalMs = 0;
    for (int i = 0; i < args.length; i += 2) {
      if (i + 1 >= args.length) throw new IllegalArgumentException("no value for " + args[i]);
      String value = args[i + 1];
      switch (args[i]) {
        case "--records-per-second":
          recordsPerSecond = Double.parseDouble(value);
          break;
        case "--keys":
          keys = Long.parseLong(value);
          break;
        case "--print-every":
          printEvery = Long.parseLong(value);
          break;
        case "--checkpoint-interval-ms":
          checkpointIntervalMs = Long.parseLong(value);
          break;
        default:
          throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }

    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    if (checkpointIntervalMs > 0) env.enableCheckpointing(checkpointIntervalMs);

    GeneratorFunction<Long, Long> sequence = index -> index;
    DataGeneratorSource<Long> source =
        new DataGeneratorSource<>(sequence, Long.MAX_VALUE, RateLimiterStrategy.perSecond(recordsPerSecond), Types.LONG);
    final long keyCount = keys;
    env.fromSource(source, WatermarkStrategy.noWatermarks(), "sequence")
        .uid("sequence")
        .setParallelism(1)
        .keyBy(value -> value % keyCount, Types.LONG)
        .process(new CountPerKey(printEvery))
        .uid("count-per-key")
        .name("count-per-key")
        .print()
        .uid("print")
        .name("print");
    env.execute("stateful-counter");
  }

  /** Counts the records of each key in keyed state and reports every {@code printEvery}-th one. */
  static final class CountPerKey extends KeyedProcessFunction<Long, Long, String> {
    private static final long serialVersionUID = 1L;

    private final long printEvery;
    private transient ValueState<Long> count;
    private transient volatile long highestCount;

    CountPerKey(long printEvery) {
      this.printEvery = printEvery;
    }

    @Override
    public void open(OpenContext context) {
      count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
      getRuntimeContext().getMetricGroup().gauge("highestCount", (Gauge<Long>) () -> highestCount);
    }

    @Override
    public void processElement(Long value, Context context, Collector<String> out) throws Exception {
      Long previous = count.value();
      long next = (previous == null ? 0 : previous) + 1;
      count.update(next);
      if (next > highestCount) highestCount = next;
      if (next % printEvery == 0) {
        out.collect(LINE_PREFIX + " key=" + context.getCurrentKey() + " count=" + next + " value=" + value);
      }
    }
  }
}
