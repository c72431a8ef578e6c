// A Connection that answers requests from handlers and plays work-done progress, for unit tests.
import type { CancellationToken, Connection, Disposable, WorkDoneProgressValue } from "../src/rpc";

type Handler = (params: any) => unknown;

export class FakeConnection implements Connection {
  readonly requests: { method: string; params: any }[] = [];
  readonly handlers = new Map<string, Handler>();
  private readonly progress = new Map<string | number, (value: any) => void>();
  private readonly notifications = new Map<string, ((params: any) => void)[]>();
  /** Progress the "daemon" reports for each request that has a token. */
  progressScript: WorkDoneProgressValue[] = [
    { kind: "begin", title: "working" },
    { kind: "report", message: "half way", percentage: 50 },
    { kind: "report", message: "almost", percentage: 90 },
    { kind: "end", message: "Done" },
  ];

  on(method: string, handler: Handler): this {
    this.handlers.set(method, handler);
    return this;
  }

  async sendRequest<R>(method: string, params: any, token?: CancellationToken): Promise<R> {
    this.requests.push({ method, params });
    const listener = params?.workDoneToken !== undefined ? this.progress.get(params.workDoneToken) : undefined;
    for (const value of listener ? this.progressScript : []) {
      listener?.(value);
    }
    const handler = this.handlers.get(method);
    if (!handler) {
      throw Object.assign(new Error(`no handler for ${method}`), { code: -32601 });
    }
    const answer = Promise.resolve(handler(params)) as Promise<R>;
    const cancellable = token as (CancellationToken & { onCancellationRequested?: (listener: () => void) => unknown }) | undefined;
    if (!cancellable?.onCancellationRequested) {
      return answer;
    }
    // As vscode-languageclient does: a cancelled token sends $/cancelRequest and the daemon
    // answers with RequestCancelled (-32800).
    const cancelled = new Promise<never>((_, reject) =>
      cancellable.onCancellationRequested?.(() => reject(Object.assign(new Error("cancelled"), { code: -32800 }))),
    );
    return Promise.race([answer, cancelled]);
  }

  onNotification(method: string, handler: (params: any) => void): Disposable {
    this.notifications.set(method, [...(this.notifications.get(method) ?? []), handler]);
    return { dispose: () => this.notifications.set(method, (this.notifications.get(method) ?? []).filter((h) => h !== handler)) };
  }

  onProgress<P>(_type: unknown, token: string | number, handler: (value: P) => void): Disposable {
    this.progress.set(token, handler as (value: any) => void);
    return { dispose: () => this.progress.delete(token) };
  }

  notify(method: string, params: unknown): void {
    (this.notifications.get(method) ?? []).forEach((handler) => handler(params));
  }

  progressListeners(): number {
    return this.progress.size;
  }
}
