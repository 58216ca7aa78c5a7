/**
 * Wraps ports so a test can make one call fail after it has taken effect — a crash between a step and the record of
 * its outcome — or before it does anything.
 */
export function createFaultInjector() {
  const armed = new Map<string, { when: 'before' | 'after'; error: Error }>();
  const calls: string[] = [];
  return {
    calls,
    /** The next call of `port.method` takes effect, then throws. */
    crashAfter(port: string, method: string, error = new Error(`injected crash after ${port}.${method}`)) {
      armed.set(`${port}.${method}`, { when: 'after', error });
    },
    /** The next call of `port.method` throws without taking effect. */
    failBefore(port: string, method: string, error = new Error(`injected failure before ${port}.${method}`)) {
      armed.set(`${port}.${method}`, { when: 'before', error });
    },
    disarm() {
      armed.clear();
    },
    isArmed() {
      return armed.size > 0;
    },
    wrap<T extends object>(name: string, port: T): T {
      return new Proxy(port, {
        get(target, property, receiver) {
          const value = Reflect.get(target, property, receiver);
          if (typeof value !== 'function') return value;
          return async (...args: unknown[]) => {
            const key = `${name}.${String(property)}`;
            calls.push(key);
            const fault = armed.get(key);
            if (fault) armed.delete(key);
            if (fault?.when === 'before') throw fault.error;
            const result = await (value as (...a: unknown[]) => unknown).apply(target, args);
            if (fault?.when === 'after') throw fault.error;
            return result;
          };
        },
      });
    },
  };
}
