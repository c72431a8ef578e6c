// What the extension reads from its settings: how to start the daemon and what to tell it.
import type { WorkspaceConfiguration } from "vscode";

export const API_KEY_SECRET = "stepforge.apiKey";

export interface ServerCommand {
  command: string;
  args: string[];
}

/** `stepforge.serverCommand`, else `python -m server serve` with `stepforge.pythonPath`, else `stepforge serve`. */
export function serverCommand(config: WorkspaceConfiguration): ServerCommand {
  const explicit = config.get<string[]>("serverCommand") ?? [];
  if (explicit.length > 0) {
    return { command: explicit[0], args: explicit.slice(1) };
  }
  const python = config.get<string>("pythonPath") ?? "";
  if (python) {
    return { command: python, args: ["-m", "server", "serve"] };
  }
  return { command: "stepforge", args: ["serve"] };
}

/** The daemon's initializationOptions. The API key comes from SecretStorage, only in memory. */
export function initializationOptions(config: WorkspaceConfiguration, apiKey: string | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {
    model: config.get<string>("model"),
    provider: config.get<string>("provider"),
    concurrency: config.get<number>("concurrency"),
    previewRuntime: config.get<string>("previewRuntime"),
  };
  const baseUrl = config.get<string>("baseUrl");
  if (baseUrl) {
    options.baseUrl = baseUrl;
  }
  if (apiKey) {
    options.apiKey = apiKey;
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined && value !== ""));
}
