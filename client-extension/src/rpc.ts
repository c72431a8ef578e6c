// The extension's client of the StepForge protocol, free of the `vscode` module: the extension
// runs it over vscode-languageclient, the integration test over plain vscode-jsonrpc.
import { ProgressType } from "vscode-jsonrpc";
import type {
  FileStatusNotification,
  PreviewLogNotification,
  StepForgeNotifications,
  StepForgeRequests,
} from "./protocol.generated";

export interface Disposable {
  dispose(): void;
}

export interface CancellationToken {
  readonly isCancellationRequested: boolean;
}

/** What both vscode-languageclient's LanguageClient and vscode-jsonrpc's MessageConnection offer. */
export interface Connection {
  sendRequest<R>(method: string, params: unknown, token?: CancellationToken): Promise<R>;
  onNotification(method: string, handler: (params: any) => void): Disposable;
  onProgress<P>(type: ProgressType<P>, token: string | number, handler: (value: P) => void): Disposable;
}

export interface WorkDoneProgressValue {
  kind: "begin" | "report" | "end";
  title?: string;
  message?: string;
  percentage?: number;
  cancellable?: boolean;
}

export const workDoneProgress = new ProgressType<WorkDoneProgressValue>();

export type Method = keyof StepForgeRequests;
export type Params<M extends Method> = StepForgeRequests[M]["params"];
export type Result<M extends Method> = StepForgeRequests[M]["result"];

export interface RequestOptions {
  onProgress?: (value: WorkDoneProgressValue) => void;
  token?: CancellationToken;
}

let tokenCounter = 0;

export class StepForgeRpc {
  constructor(private readonly connection: Connection) {}

  /** Send a request; with `onProgress`, under a work-done token of our own. */
  async request<M extends Method>(method: M, params: Params<M>, options: RequestOptions = {}): Promise<Result<M>> {
    let subscription: Disposable | undefined;
    let sent: Params<M> = params;
    if (options.onProgress) {
      const token = `stepforge-client-${process.pid}-${++tokenCounter}`;
      subscription = this.connection.onProgress(workDoneProgress, token, options.onProgress);
      sent = { ...params, workDoneToken: token };
    }
    try {
      // vscode-jsonrpc takes a trailing undefined for a second parameter: pass a token only if any.
      return options.token
        ? await this.connection.sendRequest<Result<M>>(method, sent, options.token)
        : await this.connection.sendRequest<Result<M>>(method, sent);
    } finally {
      subscription?.dispose();
    }
  }

  onNotification<N extends keyof StepForgeNotifications>(
    method: N,
    handler: (params: StepForgeNotifications[N]) => void,
  ): Disposable {
    return this.connection.onNotification(method, handler);
  }

  onFileStatus(handler: (params: FileStatusNotification) => void): Disposable {
    return this.onNotification("stepforge/fileStatus", handler);
  }

  onPreviewLog(handler: (params: PreviewLogNotification) => void): Disposable {
    return this.onNotification("stepforge/previewLog", handler);
  }
}
