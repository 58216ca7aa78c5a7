/**
 * The port through which the savepoint ledger checks that a snapshot can be restored. Locally a process runs the
 * snapshot inspector on the Flink version's own classpath; on AWS a Kubernetes Job in the tenant's namespace does.
 */

/** One file a snapshot's `_metadata` references. */
export interface SnapshotFileReference {
  /** Absolute URI (`s3://bucket/…`, `file:/…`); relative references are resolved against the snapshot directory. */
  readonly path: string;
  /** The bytes the metadata says the file holds at least (a file-merging segment ends there). */
  readonly bytes: number;
  /** Written as relative to the snapshot directory (relocatable savepoints, a checkpoint's exclusive files). */
  readonly relative: boolean;
}

/** One operator's state in a snapshot. `uid` and `name` are recorded from Flink 2.0 on. */
export interface SnapshotOperatorState {
  readonly operatorId: string;
  readonly uid: string | null;
  readonly name: string | null;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly subtaskStates: number;
  readonly stateBytes: number;
}

/** What a snapshot's `_metadata` says, as read by the Flink release that is to restore it. */
export interface SnapshotMetadata {
  /** The release whose classes read it. */
  readonly flinkVersion: string;
  readonly checkpointId: number;
  readonly operators: readonly SnapshotOperatorState[];
  readonly files: readonly SnapshotFileReference[];
  /** The state size Flink recorded, over every operator. */
  readonly stateBytes: number;
  /** Bytes in referenced files. */
  readonly fileBytes: number;
  /** Bytes stored inside `_metadata` itself. */
  readonly inlineBytes: number;
  /** Class names of state handles the inspector could not follow to files; any makes the snapshot unverifiable. */
  readonly unknownHandles: readonly string[];
}

/** Where a snapshot lives and which Flink version is to read it. */
export interface SnapshotLocation {
  /** The snapshot directory, the one holding `_metadata` (`s3://<bucket>/savepoints/savepoint-…`). */
  readonly path: string;
  /** Catalog version (`1.20`, `2.2`) of the cluster that would restore it. */
  readonly flinkVersion: string;
}

/** Whether a snapshot can be restored, and why not. */
export type Restorability =
  | { readonly restorable: true }
  | { readonly restorable: false; readonly reason: string; readonly missing?: readonly string[] };

export type SnapshotCheck = Restorability & {
  /** Absent when `_metadata` could not be read at all. */
  readonly metadata?: SnapshotMetadata;
};

/** Reads a snapshot's metadata with its Flink version's classes and checks every referenced file is present. */
export interface SnapshotInspector {
  check(snapshot: SnapshotLocation): Promise<SnapshotCheck>;
}
