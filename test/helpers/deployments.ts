/**
 * The deployments the client suites run against, unchanged: one broker on the local object
 * folder, one broker on S3 (MinIO), and a three-broker cluster (etcd, shared WAL) whose clients
 * bootstrap from one broker only.
 */
import { afterAll, beforeAll } from 'vitest';
import { startBroker } from './broker-process.js';
import { startCluster } from './cluster.js';
import { STORE_VARIANTS } from './store-variants.js';

export interface Deployment {
  /** What clients bootstrap from: one broker, even in the cluster. */
  bootstrap: string;
  destroy(): Promise<void>;
}

export interface DeploymentKind {
  name: 'local' | 's3' | 'cluster';
  start(settings: Record<string, string | number | boolean>): Promise<Deployment>;
}

const singleBroker = (variant: (typeof STORE_VARIANTS)[number]): DeploymentKind => ({
  name: variant.name,
  async start(settings) {
    const env = await variant.setup();
    const broker = await startBroker({ settings: { ...env.settings, ...settings } });
    return {
      bootstrap: broker.bootstrap,
      async destroy() {
        await broker.destroy();
        await env.teardown();
      },
    };
  },
});

export const DEPLOYMENTS: DeploymentKind[] = [
  ...STORE_VARIANTS.map(singleBroker),
  {
    name: 'cluster',
    async start(settings) {
      const cluster = await startCluster(3, settings);
      return { bootstrap: cluster.brokers[0]!.bootstrap, destroy: () => cluster.destroy() };
    },
  },
];

/**
 * Starts `variant` before a describe block's tests and destroys it after them; the returned
 * object's `bootstrap` is valid inside the tests.
 */
export function deploymentForSuite(variant: DeploymentKind,
  settings: Record<string, string | number | boolean>): { readonly bootstrap: string } {
  let deployment: Deployment | undefined;
  beforeAll(async () => {
    deployment = await variant.start(settings);
  });
  afterAll(async () => {
    await deployment?.destroy();
  });
  return { get bootstrap() { return deployment!.bootstrap; } };
}
