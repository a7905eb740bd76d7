/**
 * The deployments the client suites run against, unchanged: one broker on the local object
 * folder, one broker on S3 (MinIO), and a three-broker cluster (etcd, shared WAL) whose clients
 * bootstrap from one broker only.
 */
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
