// @ts-expect-error node-zookeeper-client ships no type declarations; the part used here is typed below.
import zookeeperModule from 'node-zookeeper-client';

type Callback = (error: Error | null, value?: unknown) => void;
interface Client {
  once(event: 'connected', listener: () => void): void;
  connect(): void;
  close(): void;
  addAuthInfo(scheme: string, auth: Buffer): void;
  create(path: string, data: Buffer, callback: Callback): void;
  getData(path: string, callback: Callback): void;
  exists(path: string, callback: Callback): void;
  getChildren(path: string, callback: Callback): void;
}
const zookeeper = zookeeperModule as { createClient(connectString: string, options: object): Client };

/** A promise-shaped node-zookeeper-client session, for test set-up and checks. */
export interface TestZooKeeper {
  create(path: string, data?: string): Promise<void>;
  createTree(path: string, data?: string): Promise<void>;
  getData(path: string): Promise<string | undefined>;
  exists(path: string): Promise<boolean>;
  /** Every path under `root` (inclusive) with its data, for byte-for-byte comparisons. */
  tree(root: string): Promise<Map<string, string>>;
  close(): void;
}

export async function connectZooKeeper(
  connectString: string,
  identity?: { user: string; password: string },
): Promise<TestZooKeeper> {
  const client: Client = zookeeper.createClient(connectString, { sessionTimeout: 10_000, retries: 2 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('ZooKeeper connect timed out')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  if (identity) client.addAuthInfo('digest', Buffer.from(`${identity.user}:${identity.password}`));
  const call = <T>(fn: (done: (error: Error | null, value?: T) => void) => void) =>
    new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));

  const api: TestZooKeeper = {
    create: (path, data = '') =>
      call<string>((done) => client.create(path, Buffer.from(data), done as never)).then(() => undefined),
    async createTree(path, data = '') {
      const parts = path.split('/').filter(Boolean);
      for (let i = 1; i <= parts.length; i += 1) {
        const partial = `/${parts.slice(0, i).join('/')}`;
        if (!(await api.exists(partial))) await api.create(partial, i === parts.length ? data : '');
      }
    },
    getData: async (path) => {
      const data = await call<Buffer | undefined>((done) => client.getData(path, done as never));
      return data?.toString('utf8');
    },
    exists: async (path) => (await call<unknown>((done) => client.exists(path, done as never))) !== null,
    async tree(root) {
      const result = new Map<string, string>();
      const visit = async (path: string) => {
        result.set(path, (await api.getData(path)) ?? '');
        const children = await call<string[]>((done) => client.getChildren(path, done as never));
        for (const child of children.sort()) await visit(path === '/' ? `/${child}` : `${path}/${child}`);
      };
      await visit(root);
      return result;
    },
    close: () => client.close(),
  };
  return api;
}
