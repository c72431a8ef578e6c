// A stand-in for the `vscode` module (VS Code cannot be downloaded here): just the API the
// extension uses, recording what the extension shows and answering its questions from queues.
import * as path from "node:path";
import { readFileSync } from "node:fs";

export interface Shown {
  kind: "info" | "warning" | "error" | "inputBox" | "quickPick" | "progress" | "command" | "document";
  text: string;
  items?: unknown[];
}

export const state = {
  shown: [] as Shown[],
  /** Answers for showInputBox, in order (undefined: the user pressed Escape). */
  inputs: [] as (string | undefined)[],
  /** Answers for showQuickPick: a label to pick (undefined: Escape). */
  picks: [] as (string | undefined)[],
  /** Buttons to click on the next messages (undefined: dismissed). */
  buttons: [] as (string | undefined)[],
  commands: new Map<string, (...args: any[]) => any>(),
  executed: [] as { command: string; args: unknown[] }[],
  configuration: {} as Record<string, unknown>,
  /** Values a folder's .vscode/settings.json sets (machine settings must ignore them). */
  workspaceConfiguration: {} as Record<string, unknown>,
  workspaceFolders: [] as { uri: Uri }[],
  progressReports: [] as { message?: string; increment?: number }[],
  cancelProgress: false,
  activeTextEditor: undefined as { document: { uri: Uri } } | undefined,
  textDocuments: [] as any[],
  secrets: new Map<string, string>(),
};

export function reset(): void {
  state.shown = [];
  state.inputs = [];
  state.picks = [];
  state.buttons = [];
  state.commands.clear();
  state.executed = [];
  state.configuration = {};
  state.workspaceConfiguration = {};
  state.workspaceFolders = [];
  state.progressReports = [];
  state.cancelProgress = false;
  state.activeTextEditor = undefined;
  state.textDocuments = [];
  state.secrets.clear();
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly fsPath: string,
    readonly query: string = "",
  ) {}
  static file(p: string): Uri {
    return new Uri("file", path.resolve(p));
  }
  static parse(text: string): Uri {
    const match = /^([\w-]+):(\/[^?]*)(?:\?(.*))?$/.exec(text);
    if (!match) throw new Error(`unparsable uri ${text}`);
    return new Uri(match[1], match[2], match[3] ?? "");
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.join(base.fsPath, ...parts));
  }
  get path(): string {
    return this.fsPath;
  }
  toString(): string {
    if (this.scheme === "http" || this.scheme === "https") {
      return `${this.scheme}:${this.fsPath}`;
    }
    return `${this.scheme}://${this.fsPath}${this.query ? `?${this.query}` : ""}`;
  }
}

export class EventEmitter<T> {
  private listeners: ((value: T) => void)[] = [];
  readonly event = (listener: (value: T) => void) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(value: T): void {
    this.listeners.forEach((listener) => listener(value));
  }
}

export enum TreeItemCollapsibleState {
  None = 0,
  Collapsed = 1,
  Expanded = 2,
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: ThemeColor,
  ) {}
}

export class TreeItem {
  iconPath?: ThemeIcon;
  description?: string;
  tooltip?: string;
  contextValue?: string;
  resourceUri?: Uri;
  command?: { command: string; title: string; arguments?: unknown[] };
  constructor(
    readonly label: string,
    readonly collapsibleState: TreeItemCollapsibleState,
  ) {}
}

export enum ProgressLocation {
  Notification = 15,
}

export enum StatusBarAlignment {
  Left = 1,
  Right = 2,
}

export class CancellationTokenSource {
  private cancelled = false;
  private readonly emitter = new EventEmitter<void>();
  readonly token: { readonly isCancellationRequested: boolean; onCancellationRequested: EventEmitter<void>["event"] };

  constructor() {
    const isCancelled = () => this.cancelled;
    this.token = {
      get isCancellationRequested() {
        return isCancelled();
      },
      onCancellationRequested: this.emitter.event,
    };
  }

  cancel(): void {
    this.cancelled = true;
    this.emitter.fire();
  }
}

function message(kind: "info" | "warning" | "error") {
  return async (text: string, ...rest: (string | { modal?: boolean; detail?: string })[]): Promise<string | undefined> => {
    const options = typeof rest[0] === "object" ? (rest.shift() as { detail?: string }) : undefined;
    const items = rest as string[];
    state.shown.push({ kind, text: options?.detail ? `${text}\n${options.detail}` : text, items });
    return items.length ? state.buttons.shift() : undefined;
  };
}

export const window = {
  showInformationMessage: message("info"),
  showWarningMessage: message("warning"),
  showErrorMessage: message("error"),
  async showInputBox(options: { prompt?: string; password?: boolean }): Promise<string | undefined> {
    state.shown.push({ kind: "inputBox", text: options.prompt ?? "" });
    return state.inputs.shift();
  },
  async showQuickPick<T extends { label: string }>(items: T[], options?: { title?: string }): Promise<T | undefined> {
    state.shown.push({ kind: "quickPick", text: options?.title ?? "", items });
    const label = state.picks.shift();
    return items.find((item) => item.label === label);
  },
  async withProgress<T>(
    options: { title: string; cancellable?: boolean },
    task: (progress: { report(value: { message?: string; increment?: number }): void }, token: any) => Promise<T>,
  ): Promise<T> {
    state.shown.push({ kind: "progress", text: options.title });
    const source = new CancellationTokenSource();
    if (state.cancelProgress) setTimeout(() => source.cancel(), 300);
    return task({ report: (value) => state.progressReports.push(value) }, source.token);
  },
  createStatusBarItem() {
    return { text: "", tooltip: "", command: "", visible: false, show() { this.visible = true; }, hide() { this.visible = false; }, dispose() {} };
  },
  createOutputChannel() {
    return { appendLine() {}, dispose() {} };
  },
  async showTextDocument(document: { uri: Uri } | Uri) {
    state.shown.push({ kind: "document", text: ("uri" in document ? document.uri : document).fsPath });
  },
  createTreeView() {
    return { description: "", dispose() {} };
  },
  get activeTextEditor() {
    return state.activeTextEditor;
  },
};

export const env = {
  async asExternalUri(uri: Uri): Promise<Uri> {
    return uri;
  },
};

export const commands = {
  registerCommand(name: string, handler: (...args: any[]) => any) {
    state.commands.set(name, handler);
    return { dispose: () => state.commands.delete(name) };
  },
  async executeCommand(command: string, ...args: unknown[]) {
    state.executed.push({ command, args });
    return state.commands.get(command)?.(...args);
  },
};

export const workspace = {
  get workspaceFolders() {
    return state.workspaceFolders;
  },
  getConfiguration() {
    return {
      get: <T>(key: string): T | undefined => state.configuration[key] as T | undefined,
      inspect: <T>(key: string) => ({
        key,
        globalValue: state.configuration[key] as T | undefined,
        workspaceValue: state.workspaceConfiguration[key] as T | undefined,
      }),
    };
  },
  async openTextDocument(uri: Uri) {
    return { uri, getText: () => readFileSync(uri.fsPath, "utf8"), isDirty: false, save: async () => true };
  },
  registerTextDocumentContentProvider() {
    return { dispose() {} };
  },
  get textDocuments() {
    return state.textDocuments;
  },
  fs: {
    async readFile(uri: Uri): Promise<Uint8Array> {
      return readFileSync(uri.fsPath);
    },
  },
  onDidChangeConfiguration() {
    return { dispose() {} };
  },
};

export function secretStorage() {
  return {
    get: async (key: string) => state.secrets.get(key),
    store: async (key: string, value: string) => void state.secrets.set(key, value),
    delete: async (key: string) => void state.secrets.delete(key),
    onDidChange: () => ({ dispose() {} }),
  };
}
