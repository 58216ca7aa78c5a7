import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnOutput } from 'aws-cdk-lib';
import type * as eks from 'aws-cdk-lib/aws-eks-v2';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { stringify } from 'yaml';

/** A Kubernetes object as plain data (the `@kubernetes/client-node` model types fit). */
export interface KubernetesObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: object;
}

export interface KubernetesManifestsProps {
  /**
   * Objects in apply order; each inner list is one stage, applied after the previous one (e.g. a namespace first).
   */
  readonly stages: readonly (readonly KubernetesObject[])[];
  /**
   * The cluster to apply them to. Without one (an imported cluster, which the stack cannot reach), the objects are
   * rendered to a YAML file asset and the outputs say how the operator applies it.
   * @default - rendered for the operator
   */
  readonly cluster?: eks.Cluster;
  /** What the objects are, for the output description. */
  readonly description: string;
}

/** Renders objects as one multi-document YAML file. */
export function renderYaml(objects: readonly KubernetesObject[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0 })).join('---\n');
}

/**
 * Kubernetes objects the platform needs in the EKS cluster: applied through the cluster's kubectl provider when the
 * stack created the cluster, else published as a YAML asset with a `kubectl apply` command in the stack outputs.
 */
export class KubernetesManifests extends Construct {
  /** The rendered YAML (every stage, in order). */
  readonly yaml: string;
  /** The S3 URL of the rendered YAML when the operator applies it. */
  readonly s3ObjectUrl?: string;

  constructor(scope: Construct, id: string, props: KubernetesManifestsProps) {
    super(scope, id);
    this.yaml = renderYaml(props.stages.flat());

    if (props.cluster) {
      let previous: Construct | undefined;
      props.stages.forEach((stage, index) => {
        const manifest = props.cluster!.addManifest(`${id}Stage${index}`, ...(stage as Record<string, unknown>[]));
        if (previous) manifest.node.addDependency(previous);
        previous = manifest;
      });
      return;
    }

    // The content decides the asset hash, so the same objects always give the same file.
    const directory = mkdtempSync(join(tmpdir(), 'flinkplane-manifests-'));
    const file = join(directory, `${id}.yaml`);
    writeFileSync(file, this.yaml);
    const asset = new Asset(this, 'Yaml', { path: file });
    this.s3ObjectUrl = asset.s3ObjectUrl;
    new CfnOutput(this, 'ApplyCommand', {
      description: `${props.description}: the cluster is imported, so apply these once with cluster-admin rights`,
      value: `aws s3 cp ${asset.s3ObjectUrl} - | kubectl apply -f -`,
    });
  }
}
