package flinkplane.testjobs;

import java.io.File;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.JobListener;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * Runs {@link StatefulCounter} unchanged in a local MiniCluster, so a test gets real snapshots of the Flink release on
 * the classpath without a cluster: it checkpoints every 200 ms into {@code <checkpoint dir>} (retained, none subsumed,
 * no state inlined into {@code _metadata}), and once {@code <checkpoints>} have completed takes a canonical savepoint
 * into {@code <savepoint dir>}, cancels the job, prints {@code job=<id> savepoint=<path>} and halts the JVM.
 *
 * <pre>SnapshotMaker &lt;checkpoint dir&gt; &lt;savepoint dir&gt; &lt;checkpoints&gt; [hashmap|rocksdb-incremental]</pre>
 */
public final class SnapshotMaker extends StreamExecutionEnvironment {
  private SnapshotMaker() {}

  public static void main(String[] args) throws Exception {
    File checkpoints = new File(args[0]);
    String savepoints = new File(args[1]).toURI().toString();
    int wanted = Integer.parseInt(args[2]);
    boolean rocksdb = args.length > 3 && args[3].equals("rocksdb-incremental");

    Map<String, String> settings = new HashMap<>();
    // What LocalStreamEnvironment sets, which refuses to run under a context environment like this one.
    settings.put("execution.target", "local");
    settings.put("execution.attached", "true");
    settings.put("parallelism.default", "1");
    settings.put("execution.checkpointing.interval", "200 ms");
    // The 1.x and 2.x names of each option; a release ignores the name it does not know.
    settings.put("state.checkpoints.dir", checkpoints.toURI().toString());
    settings.put("execution.checkpointing.dir", checkpoints.toURI().toString());
    settings.put("state.checkpoints.num-retained", "1000");
    settings.put("execution.checkpointing.num-retained", "1000");
    settings.put("state.storage.fs.memory-threshold", "0");
    settings.put("execution.checkpointing.data-inline-threshold", "0");
    settings.put("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
    if (rocksdb) {
      settings.put("state.backend.type", "rocksdb");
      settings.put("state.backend.incremental", "true");
      settings.put("execution.checkpointing.incremental", "true");
    }
    Configuration configuration = Configuration.fromMap(settings);

    CompletableFuture<JobClient> submitted = new CompletableFuture<>();
    initializeContextEnvironment(
        ignored -> {
          StreamExecutionEnvironment env = new StreamExecutionEnvironment(configuration);
          env.registerJobListener(
              new JobListener() {
                @Override
                public void onJobSubmitted(JobClient client, Throwable error) {
                  if (error != null) submitted.completeExceptionally(error);
                  else submitted.complete(client);
                }

                @Override
                public void onJobExecuted(org.apache.flink.api.common.JobExecutionResult result, Throwable error) {}
              });
          return env;
        });
    Thread job =
        new Thread(
            () -> {
              try {
                StatefulCounter.main(new String[] {"--records-per-second", "500", "--print-every", "100000"});
              } catch (Throwable error) {
                submitted.completeExceptionally(error);
                error.printStackTrace();
              }
            },
            "stateful-counter");
    job.setDaemon(true);
    job.start();

    JobClient client = submitted.get(60, TimeUnit.SECONDS);
    File jobDir = new File(checkpoints, client.getJobID().toHexString());
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (completed(jobDir) < wanted) {
      if (System.nanoTime() > deadline) throw new IllegalStateException("no " + wanted + " checkpoints in " + jobDir);
      Thread.sleep(50);
    }
    String savepoint = client.triggerSavepoint(savepoints, SavepointFormatType.CANONICAL).get(60, TimeUnit.SECONDS);
    // Cancelled, not halted mid-checkpoint: an in-flight checkpoint is aborted, the completed ones are retained.
    client.cancel().get(60, TimeUnit.SECONDS);
    System.out.println("job=" + client.getJobID() + " savepoint=" + savepoint);
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }

  private static int completed(File jobDir) {
    File[] dirs = jobDir.listFiles((dir, name) -> name.startsWith("chk-") && new File(dir, name + "/_metadata").isFile());
    return dirs == null ? 0 : dirs.length;
  }
}
