import { createHash } from 'node:crypto';
import type { V1ConfigMap, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { FlinkVersion } from '../functions/core/catalog.ts';
import type { EffectiveCluster } from '../functions/core/effective-cluster.ts';
import type { FlinkRole } from '../functions/core/flink-configuration.ts';
import { COMPONENT_NAMES } from '../functions/core/naming.ts';
import { objectMeta } from './labels.ts';

/** Where the image reads its configuration; `flink-console.sh` points logback at `logback-console.xml` here. */
export const FLINK_CONF_DIR = '/opt/flink/conf';
export const LOGBACK_KEY = 'logback-console.xml';
const CONFIG_VOLUME = 'flink-config';
const ROLES: readonly FlinkRole[] = ['jobmanager', 'taskmanager'];

/**
 * Logging for the image's slf4j + logback: everything to stdout, where the node's log collector (and `kubectl logs`)
 * picks it up, and to `log.file` as flink-dist's own logback-console.xml does, which the Flink UI's log tab reads.
 * The ZooKeeper client logs every connection attempt at INFO, which drowns the rest while the proxy restarts.
 */
export const LOGBACK_CONSOLE_XML = `<configuration>
  <appender name="console" class="ch.qos.logback.core.ConsoleAppender">
    <encoder>
      <pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{60} %X{sourceThread} - %msg%n</pattern>
    </encoder>
  </appender>
  <appender name="file" class="ch.qos.logback.core.rolling.RollingFileAppender">
    <file>\${log.file}</file>
    <append>false</append>
    <rollingPolicy class="ch.qos.logback.core.rolling.FixedWindowRollingPolicy">
      <fileNamePattern>\${log.file}.%i</fileNamePattern>
      <minIndex>1</minIndex>
      <maxIndex>3</maxIndex>
    </rollingPolicy>
    <triggeringPolicy class="ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy">
      <maxFileSize>50MB</maxFileSize>
    </triggeringPolicy>
    <encoder>
      <pattern>%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{60} %X{sourceThread} - %msg%n</pattern>
    </encoder>
  </appender>
  <root level="INFO">
    <appender-ref ref="console"/>
    <appender-ref ref="file"/>
  </root>
  <logger name="org.apache.zookeeper" level="WARN"/>
  <logger name="org.apache.flink.shaded.zookeeper3" level="WARN"/>
  <logger name="org.apache.flink.shaded.curator5" level="WARN"/>
</configuration>
`;

/** The config map key of a role's file: `flink-conf-jobmanager.yaml` on 1.x, `config-jobmanager.yaml` on 2.x. */
export function configFileKey(version: FlinkVersion, role: FlinkRole): string {
  return `${version.configFileName.replace(/\.yaml$/, '')}-${role}.yaml`;
}

/** The ConfigMap `flink-cluster-config`: each role's rendered Flink configuration and the logback configuration. */
export function buildConfigMap(cluster: EffectiveCluster): V1ConfigMap {
  const data: Record<string, string> = {};
  for (const role of ROLES) data[configFileKey(cluster.version, role)] = cluster.configurationFiles[role];
  data[LOGBACK_KEY] = LOGBACK_CONSOLE_XML;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: objectMeta(cluster, 'configuration', COMPONENT_NAMES.configMap),
    data,
  };
}

export function configVolume(): V1Volume {
  return { name: CONFIG_VOLUME, configMap: { name: COMPONENT_NAMES.configMap } };
}

/**
 * Mounts a role's file as `/opt/flink/conf/<flink-conf.yaml|config.yaml>` and the logback file next to it. A subPath
 * mount keeps the image's other files in the directory; it never sees later edits of the config map, which is why
 * the pod template carries {@link configChecksum} and a change rolls the pods instead.
 */
export function configMounts(cluster: EffectiveCluster, role: FlinkRole): V1VolumeMount[] {
  return [
    {
      name: CONFIG_VOLUME,
      mountPath: `${FLINK_CONF_DIR}/${cluster.version.configFileName}`,
      subPath: configFileKey(cluster.version, role),
      readOnly: true,
    },
    { name: CONFIG_VOLUME, mountPath: `${FLINK_CONF_DIR}/${LOGBACK_KEY}`, subPath: LOGBACK_KEY, readOnly: true },
  ];
}

/**
 * SHA-256 of the config map data a role mounts. Per role, so a TaskManager-only change (e.g. its memory) rolls the
 * TaskManagers and leaves the JobManager running.
 */
export function configChecksum(cluster: EffectiveCluster, role: FlinkRole): string {
  const hash = createHash('sha256');
  const mounted: [string, string][] = [
    [configFileKey(cluster.version, role), cluster.configurationFiles[role]],
    [LOGBACK_KEY, LOGBACK_CONSOLE_XML],
  ];
  for (const [key, value] of mounted) hash.update(`${key}\0${value.length}\0${value}`);
  return hash.digest('hex');
}
