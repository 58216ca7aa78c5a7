import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.api.transaction.CuratorTransactionResult;
import org.apache.curator.framework.recipes.cache.TreeCache;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.SharedCountListener;
import org.apache.curator.framework.recipes.shared.SharedCountReader;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;

/**
 * A scripted Curator client for tests: reads "id client command args..." lines (tab-separated) on stdin and prints
 * one JSON object per line on stdout, either a reply {"id":..,"ok":..} or an event {"event":..}. One JVM can hold
 * several named clients, each with its own ZooKeeper session, so a test pays for one JVM start.
 */
public final class CuratorDriver {
  private static final Map<String, CuratorFramework> clients = new HashMap<>();
  private static final Map<String, LeaderLatch> latches = new HashMap<>();
  private static final Map<String, SharedCount> counts = new HashMap<>();
  private static final Map<String, TreeCache> trees = new HashMap<>();

  public static void main(String[] args) throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    emit(json("event", "ready"));
    String line;
    while ((line = in.readLine()) != null) {
      String[] words = line.split("\t", -1);
      if (words.length < 3) continue;
      String id = words[0];
      try {
        String result = run(words[1], words[2], java.util.Arrays.copyOfRange(words, 3, words.length));
        emit("{\"id\":" + id + ",\"ok\":true" + (result.isEmpty() ? "" : "," + result) + "}");
      } catch (Exception e) {
        emit("{\"id\":" + id + ",\"ok\":false,\"error\":" + quote(e.getClass().getSimpleName() + ": " + e.getMessage()) + "}");
      }
      if (words[2].equals("exit")) break;
    }
    for (LeaderLatch latch : latches.values()) latch.close();
    for (TreeCache tree : trees.values()) tree.close();
    for (SharedCount count : counts.values()) count.close();
    for (CuratorFramework client : clients.values()) client.close();
    System.exit(0);
  }

  private static String run(String name, String command, String[] a) throws Exception {
    switch (command) {
      case "open": {
        // As Flink configures it: no ensemble tracker, so Curator never learns real server addresses.
        CuratorFramework client = CuratorFrameworkFactory.builder()
            .connectString(a[0])
            .sessionTimeoutMs(Integer.parseInt(a[1]))
            .connectionTimeoutMs(5000)
            .retryPolicy(new ExponentialBackoffRetry(50, 20, 500))
            .ensembleTracker(false)
            .build();
        client.getConnectionStateListenable().addListener((c, state) ->
            emit(json("event", "state", "client", name, "state", state.name())));
        client.start();
        if (!client.blockUntilConnected(20, java.util.concurrent.TimeUnit.SECONDS)) throw new IllegalStateException("not connected");
        clients.put(name, client);
        return "";
      }
      case "sessionId":
        return field("sessionId", Long.toHexString(client(name).getZookeeperClient().getZooKeeper().getSessionId()));
      case "create":
        return field("path", client(name).create().creatingParentsIfNeeded().forPath(a[0], bytes(a[1])));
      case "createEphemeralSequential":
        return field("path", client(name).create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL_SEQUENTIAL).forPath(a[0], bytes(a[1])));
      case "setData":
        client(name).setData().forPath(a[0], bytes(a[1]));
        return "";
      case "getData":
        return field("data", new String(client(name).getData().forPath(a[0]), StandardCharsets.UTF_8));
      case "children":
        return "\"children\":" + array(client(name).getChildren().forPath(a[0]));
      case "delete":
        client(name).delete().deletingChildrenIfNeeded().forPath(a[0]);
        return "";
      case "watchData":
        // A one-shot ZooKeeper data watch: re-sent by the client with setWatches after a reconnect.
        client(name).getData().usingWatcher((org.apache.curator.framework.api.CuratorWatcher) event ->
            emit(json("event", "watch", "client", name, "type", event.getType().name(), "path", String.valueOf(event.getPath()))))
            .forPath(a[0]);
        return "";
      case "transaction": {
        CuratorFramework client = client(name);
        List<CuratorOp> ops = new ArrayList<>();
        for (int i = 0; i + 1 < a.length; i += 2) ops.add(client.transactionOp().create().forPath(a[i], bytes(a[i + 1])));
        List<String> paths = new ArrayList<>();
        for (CuratorTransactionResult result : client.transaction().forOperations(ops)) paths.add(result.getResultPath());
        return "\"paths\":" + array(paths);
      }
      case "latchStart": {
        LeaderLatch latch = new LeaderLatch(client(name), a[0], name);
        latch.addListener(new LeaderLatchListener() {
          public void isLeader() { emit(json("event", "leader", "client", name, "leader", "true")); }
          public void notLeader() { emit(json("event", "leader", "client", name, "leader", "false")); }
        });
        latch.start();
        latches.put(name, latch);
        return "";
      }
      case "latchState": {
        LeaderLatch latch = latches.get(name);
        return field("hasLeadership", String.valueOf(latch.hasLeadership())) + "," + field("leader", latch.getLeader().getId())
            + ",\"participants\":" + participants(latch.getParticipants());
      }
      case "countStart": {
        SharedCount count = new SharedCount(client(name), a[0], Integer.parseInt(a[1]));
        count.addListener(new SharedCountListener() {
          public void countHasChanged(SharedCountReader reader, int value) { emit(json("event", "count", "client", name, "value", String.valueOf(value))); }
          public void stateChanged(CuratorFramework c, ConnectionState state) {}
        });
        count.start();
        counts.put(name, count);
        return "";
      }
      case "countGet":
        return field("value", String.valueOf(counts.get(name).getCount()));
      case "countTrySet": {
        SharedCount count = counts.get(name);
        boolean set = count.trySetCount(count.getVersionedValue(), Integer.parseInt(a[0]));
        return field("set", String.valueOf(set));
      }
      case "treeStart": {
        TreeCache tree = TreeCache.newBuilder(client(name), a[0]).build();
        tree.getListenable().addListener((c, event) -> emit(json("event", "tree", "client", name, "type", event.getType().name(),
            "path", event.getData() == null ? "" : event.getData().getPath())));
        tree.start();
        trees.put(name, tree);
        return "";
      }
      case "treeChildren":
        return "\"children\":" + array(new ArrayList<>(trees.get(name).getCurrentChildren(a[0]).keySet()));
      case "exit":
        return "";
      default:
        throw new IllegalArgumentException("unknown command " + command);
    }
  }

  private static CuratorFramework client(String name) {
    CuratorFramework client = clients.get(name);
    if (client == null) throw new IllegalArgumentException("no client " + name);
    return client;
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  private static String participants(Collection<org.apache.curator.framework.recipes.leader.Participant> participants) {
    List<String> ids = new ArrayList<>();
    for (org.apache.curator.framework.recipes.leader.Participant p : participants) ids.add(p.getId());
    return array(ids);
  }

  private static String field(String key, String value) {
    return quote(key) + ":" + quote(value);
  }

  private static String json(String... pairs) {
    StringBuilder out = new StringBuilder("{");
    for (int i = 0; i + 1 < pairs.length; i += 2) {
      if (i > 0) out.append(',');
      out.append(field(pairs[i], pairs[i + 1]));
    }
    return out.append('}').toString();
  }

  private static String array(List<String> values) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) out.append(',');
      out.append(quote(values.get(i)));
    }
    return out.append(']').toString();
  }

  private static String quote(String value) {
    if (value == null) return "null";
    StringBuilder out = new StringBuilder("\"");
    for (char c : value.toCharArray()) {
      if (c == '"' || c == '\\') out.append('\\').append(c);
      else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
      else out.append(c);
    }
    return out.append('"').toString();
  }

  private static synchronized void emit(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
