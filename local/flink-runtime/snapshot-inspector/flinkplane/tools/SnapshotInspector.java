package flinkplane.tools;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.File;
import java.io.FileInputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.flink.runtime.checkpoint.Checkpoints;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.state.StateObject;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.runtime.state.filesystem.RelativeFileStateHandle;
import org.apache.flink.runtime.state.memory.ByteStreamStateHandle;
import org.apache.flink.runtime.util.EnvironmentInformation;

/**
 * Reads a checkpoint's or savepoint's {@code _metadata} with the classes of the Flink release on the classpath and
 * prints, as one JSON object on stdout, its checkpoint id, its operator states and every file it references with the
 * bytes the metadata expects there.
 *
 * <pre>java -cp &lt;classes&gt;:&lt;flink&gt;/lib/* flinkplane.tools.SnapshotInspector &lt;_metadata file&gt; &lt;snapshot dir URI&gt; [job jar ...]</pre>
 *
 * <p>The snapshot directory URI is where the snapshot lives; it may be {@code s3://…} while the metadata was copied to
 * a local file. Relative file references (relocatable savepoints, the exclusive files of a checkpoint) are resolved
 * against it, not against the copy's directory, so this tool needs no file system for the URI's scheme. The job jars,
 * if any, make up the user class loader the metadata is read with.
 *
 * <p>One source for every release: the state handle classes differ between 1.18, 1.20 and 2.x (file merging segments
 * from 1.20, merged channel state in 2.x), so file references are found by walking the handles' getters, with files
 * and inline bytes as the only leaves. A handle of a kind that is neither and holds nothing is reported in {@code
 * unknownHandles}, so a caller never calls a snapshot complete that this tool did not understand. Exit status 2: the
 * metadata could not be read (the message is on stderr).
 */
public final class SnapshotInspector {
  /** Every file referenced: path → the bytes the metadata says it holds at least. */
  private final Map<String, Long> files = new TreeMap<>();
  private final Set<String> relativeFiles = new TreeSet<>();
  private final Set<String> unknownHandles = new TreeSet<>();
  private final Map<Object, Boolean> visited = new IdentityHashMap<>();
  private long inlineBytes;

  private final String snapshotDir;

  private SnapshotInspector(String snapshotDir) {
    this.snapshotDir = snapshotDir.endsWith("/") ? snapshotDir.substring(0, snapshotDir.length() - 1) : snapshotDir;
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: SnapshotInspector <_metadata file> <snapshot dir URI> [job jar ...]");
      System.exit(64);
    }
    URL[] jars = new URL[args.length - 2];
    for (int i = 2; i < args.length; i++) jars[i - 2] = new File(args[i]).toURI().toURL();
    ClassLoader userClassLoader = new URLClassLoader(jars, SnapshotInspector.class.getClassLoader());
    CheckpointMetadata metadata;
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(new FileInputStream(args[0])))) {
      // Flink parses the pointer into a file system path, which needs that file system; the copy's directory does not.
      String copyDir = new File(args[0]).getAbsoluteFile().getParentFile().toURI().toString();
      metadata = Checkpoints.loadCheckpointMetadata(in, userClassLoader, copyDir);
    } catch (Exception | LinkageError error) {
      System.err.println("cannot read the _metadata of " + args[1] + " with Flink " + EnvironmentInformation.getVersion() + ": " + error);
      System.exit(2);
      return;
    }
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8.name());
    out.println(new SnapshotInspector(args[1]).describe(metadata));
  }

  private String describe(CheckpointMetadata metadata) {
    List<String> operators = new ArrayList<>();
    long stateBytes = 0;
    for (OperatorState operator : metadata.getOperatorStates()) {
      visit(operator.getCoordinatorState());
      for (OperatorSubtaskState subtask : operator.getStates()) visit(subtask);
      stateBytes += operator.getStateSize();
      operators.add(
          "{\"operatorId\":" + quote(operator.getOperatorID().toHexString())
              + ",\"uid\":" + optionalString(operator, "getOperatorUid")
              + ",\"name\":" + optionalString(operator, "getOperatorName")
              + ",\"parallelism\":" + operator.getParallelism()
              + ",\"maxParallelism\":" + operator.getMaxParallelism()
              + ",\"subtaskStates\":" + operator.getNumberCollectedStates()
              + ",\"stateBytes\":" + operator.getStateSize()
              + "}");
    }
    List<String> fileEntries = new ArrayList<>();
    long fileBytes = 0;
    for (Map.Entry<String, Long> file : files.entrySet()) {
      fileBytes += file.getValue();
      fileEntries.add(
          "{\"path\":" + quote(file.getKey()) + ",\"bytes\":" + file.getValue()
              + ",\"relative\":" + relativeFiles.contains(file.getKey()) + "}");
    }
    List<String> unknown = new ArrayList<>();
    for (String kind : unknownHandles) unknown.add(quote(kind));
    return "{\"flinkVersion\":" + quote(EnvironmentInformation.getVersion())
        + ",\"checkpointId\":" + metadata.getCheckpointId()
        + ",\"operators\":[" + String.join(",", operators) + "]"
        + ",\"files\":[" + String.join(",", fileEntries) + "]"
        + ",\"stateBytes\":" + stateBytes
        + ",\"fileBytes\":" + fileBytes
        + ",\"inlineBytes\":" + inlineBytes
        + ",\"unknownHandles\":[" + String.join(",", unknown) + "]}";
  }

  private void visit(Object value) {
    if (value == null || visited.put(value, Boolean.TRUE) != null) return;
    if (value instanceof FileStateHandle) {
      FileStateHandle file = (FileStateHandle) value;
      boolean relative = value instanceof RelativeFileStateHandle;
      String path =
          relative
              ? snapshotDir + "/" + ((RelativeFileStateHandle) value).getRelativePath()
              : file.getFilePath().toString();
      files.merge(path, file.getStateSize(), Math::max);
      if (relative) relativeFiles.add(path);
    } else if (value instanceof ByteStreamStateHandle) {
      inlineBytes += ((ByteStreamStateHandle) value).getStateSize();
    } else if (value.getClass().getSimpleName().endsWith("SegmentFileStateHandle")) {
      // File merging (1.20+): a segment [startPos, startPos + stateSize) of a shared file; an empty one names no file.
      long size = (Long) call(value, "getStateSize");
      if (size > 0) {
        String path = call(value, "getFilePath").toString();
        files.merge(path, (Long) call(value, "getStartPos") + size, Math::max);
      }
    } else if (value instanceof Collection) {
      for (Object element : (Collection<?>) value) visit(element);
    } else if (value instanceof Map) {
      for (Object element : ((Map<?, ?>) value).values()) visit(element);
    } else if (value instanceof Optional) {
      visit(((Optional<?>) value).orElse(null));
    } else if (value.getClass().getSimpleName().equals("HandleAndLocalPath")) {
      visit(call(value, "getHandle"));
    } else if (value instanceof org.apache.flink.api.java.tuple.Tuple2) {
      visit(((org.apache.flink.api.java.tuple.Tuple2<?, ?>) value).f0);
    } else if (value instanceof StateObject) {
      visitComposite((StateObject) value);
    }
  }

  /** A handle made of other handles (key groups, incremental, changelog, channel state): its getters lead to them. */
  private void visitComposite(StateObject handle) {
    int before = files.size();
    long inlineBefore = inlineBytes;
    boolean hasChildren = false;
    for (Method method : handle.getClass().getMethods()) {
      if (method.getParameterCount() != 0 || Modifier.isStatic(method.getModifiers())) continue;
      if (!method.getName().startsWith("get") || method.getReturnType().isPrimitive()) continue;
      Class<?> type = method.getReturnType();
      boolean leadsToHandles =
          StateObject.class.isAssignableFrom(type)
              || Collection.class.isAssignableFrom(type)
              || Map.class.isAssignableFrom(type)
              || Optional.class.isAssignableFrom(type);
      if (!leadsToHandles) continue;
      Object child = call(handle, method.getName());
      if (child != null) {
        hasChildren = true;
        visit(child);
      }
    }
    boolean empty = handle.getStateSize() == 0;
    if (!hasChildren && !empty && files.size() == before && inlineBytes == inlineBefore) {
      unknownHandles.add(handle.getClass().getName());
    }
  }

  private static Object call(Object target, String getter) {
    try {
      return target.getClass().getMethod(getter).invoke(target);
    } catch (ReflectiveOperationException error) {
      throw new IllegalStateException(target.getClass().getName() + "." + getter + "()", error);
    }
  }

  /** An {@code Optional<String>} getter of Flink 2.x (the operator's uid and name); null on releases without it. */
  private static String optionalString(Object target, String getter) {
    try {
      Object value = target.getClass().getMethod(getter).invoke(target);
      return value instanceof Optional && ((Optional<?>) value).isPresent() ? quote(((Optional<?>) value).get().toString()) : "null";
    } catch (NoSuchMethodException error) {
      return "null";
    } catch (ReflectiveOperationException error) {
      throw new IllegalStateException(getter, error);
    }
  }

  private static String quote(String text) {
    StringBuilder json = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') json.append('\\').append(c);
      else if (c < 0x20) json.append(String.format("\\u%04x", (int) c));
      else json.append(c);
    }
    return json.append('"').toString();
  }
}
