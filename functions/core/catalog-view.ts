import { DEFAULT_FLINK_VERSION, FLINK_VERSIONS } from './catalog.ts';
import { FIXED_PREFIXES, FIXED_SETTINGS } from './fixed-settings.ts';
import type { PlatformSettings } from './platform.ts';
import { FIXED_SIZES, SIZING_FIELDS } from './sizing.ts';

/** The catalog as the API answers it: versions, zones, sizing defaults, minimums and quota, and the fixed settings. */
export function catalogView(platform: PlatformSettings) {
  return {
    versions: FLINK_VERSIONS.map((version) => ({
      version: version.version,
      release: version.release,
      configFileName: version.configFileName,
      providedPackages: version.artifacts.map((artifact) => artifact.coordinate),
    })),
    defaultVersion: DEFAULT_FLINK_VERSION,
    zones: platform.zones,
    sizing: SIZING_FIELDS.map((field) => ({
      field: field.path,
      label: field.label,
      unit: field.unit,
      default: field.default,
      minimum: field.minimum,
      maximum: field.maximum(platform),
      step: field.step,
    })),
    fixedSizes: FIXED_SIZES,
    fixedSettings: [
      ...FIXED_SETTINGS.map((setting) => ({ keys: setting.names, scope: setting.scope, value: setting.value })),
      ...FIXED_PREFIXES.map((family) => ({ keys: [`${family.prefix}*`], scope: 'cluster', value: family.value })),
    ],
  };
}
