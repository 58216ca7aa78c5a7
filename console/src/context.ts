import type { ApiClient } from './api.ts';
import type { Catalog } from './api-types.ts';
import type { Session } from './session.ts';

/** What every view gets from the shell. */
export interface AppContext {
  readonly session: Session;
  readonly api: ApiClient;
  /** The version catalog, fetched once per session. */
  catalog(): Promise<Catalog>;
  /** Says something to screen-reader users through the shell's polite live region. */
  announce(message: string): void;
  /** Ends the session, e.g. when the API no longer accepts the token. */
  signOut(reason?: string): void;
}

/** A mounted page; `unmount` stops its polling. */
export interface View {
  unmount(): void;
}
