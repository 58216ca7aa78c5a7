import { FLINK_VERSIONS, kafkaConnectorVersion } from './catalog.ts';
import { FIXED_PREFIXES, FIXED_SETTINGS, TENANT_DEFAULTS } from './fixed-settings.ts';
import { FIXED_SIZES, SIZING_FIELDS } from './sizing.ts';

/**
 * The README's tables of defaults, minimums, fixed settings and versions, rendered from the code that enforces them;
 * the Flink settings come from the one settings table that rendering and validation read too.
 */
export function settingsMarkdown(): string {
  const sizing = [
    '| field | default | minimum |',
    '|---|---|---|',
    ...SIZING_FIELDS.map(
      (field) => `| \`${field.path}\` (${field.label}, ${field.unit}) | ${field.default} | ${field.minimum} |`,
    ),
  ];
  const fixedSizes = [
    '| fixed size | value |',
    '|---|---|',
    `| ZooKeeper proxy CPU | ${FIXED_SIZES.zookeeperProxy.cpu} cores |`,
    `| ZooKeeper proxy memory | ${FIXED_SIZES.zookeeperProxy.memoryMB} MB |`,
    `| JAR volume \`faas-volume\` | ${FIXED_SIZES.jarVolumeGiB} GiB |`,
  ];
  const fixed = [
    '| key (every name Flink has used) | applies to | fixed to | from |',
    '|---|---|---|---|',
    ...FIXED_SETTINGS.map(
      (setting) =>
        `| ${setting.names.map((name) => `\`${name}\``).join(', ')} | ${setting.scope} | ${setting.value} | ${setting.origin} |`,
    ),
    ...FIXED_PREFIXES.map((family) => `| \`${family.prefix}*\` | cluster | ${family.value} | platform |`),
  ];
  const defaults = [
    '| Flink default a tenant may override | default | minimum |',
    '|---|---|---|',
    ...TENANT_DEFAULTS.map(
      (setting) => `| \`${setting.names[0]}\` | ${setting.doc} | ${setting.minimum?.text ?? 'none'} |`,
    ),
  ];
  const versions = [
    '| version | release | config file | base image | Kafka connector |',
    '|---|---|---|---|---|',
    ...FLINK_VERSIONS.map(
      (version) =>
        `| ${version.version} | ${version.release} | \`${version.configFileName}\` | \`${version.baseImage}\` | flink-connector-kafka ${kafkaConnectorVersion(version)} |`,
    ),
  ];
  return [sizing, fixedSizes, fixed, defaults, versions].map((table) => table.join('\n')).join('\n\n');
}
