// What the extension reads from its settings: how to start the daemon and what to tell it.
import type { WorkspaceConfiguration } from "vscode";

export const API_KEY_SECRET = "stepforge.apiKey";

/** Settings that name a program, where the API key goes, or whether generated code may run
 * unsandboxed on this machine: a folder's .vscode/settings.json must not set them (they are
 * machine-scoped in package.json, and read here from user settings only). */
export const MACHINE_SETTINGS = ["serverCommand", "pythonPath", "baseUrl", "provider", "previewRuntime"] as const;

export interface ServerCommand {
  command: string;
  args: string[];
}

/** A machine setting's value: the user's (or machine's), never a workspace's or a folder's. */
export function machineValue<T>(config: WorkspaceConfiguration, key: (typeof MACHINE_SETTINGS)[number]): T | undefined {
  const inspected = config.inspect<T>(key);
  if (!inspected) {
    return config.get<T>(key);
  }
  return inspected.globalValue ?? inspected.defaultValue;
}

/** `stepforge.serverCommand`, else `python -m server serve` with `stepforge.pythonPath`, else `stepforge serve`. */
export function serverCommand(config: WorkspaceConfiguration): ServerCommand {
  const explicit = machineValue<string[]>(config, "serverCommand") ?? [];
  if (explicit.length > 0) {
    return { command: explicit[0], args: explicit.slice(1) };
  }
  const python = machineValue<string>(config, "pythonPath") ?? "";
  if (python) {
    return { command: python, args: ["-m", "server", "serve"] };
  }
  return { command: "stepforge", args: ["serve"] };
}

/** The daemon's initializationOptions. The API key comes from SecretStorage, only in memory. */
export function initializationOptions(config: WorkspaceConfiguration, apiKey: string | undefined): Record<string, unknown> {
  const options: Record<string, unknown> = {
    model: config.get<string>("model"),
    provider: machineValue<string>(config, "provider"),
    concurrency: config.get<number>("concurrency"),
    previewRuntime: machineValue<string>(config, "previewRuntime"),
    database: config.get<string>("database"), // "" (unset): the one the workspace last ran with
  };
  const baseUrl = machineValue<string>(config, "baseUrl");
  if (baseUrl) {
    options.baseUrl = baseUrl;
  }
  if (apiKey) {
    options.apiKey = apiKey;
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined && value !== ""));
}

/** Why the daemon did not start, in words that say what to do. */
export function startFailure(error: unknown, command: ServerCommand): string {
  const text = error instanceof Error ? error.message : String(error);
  if (/ENOENT/.test(text)) {
    return (
      `StepForge: the daemon's command \`${command.command}\` was not found. Install StepForge ` +
      "(scripts/setup in its repository, or pip install it), or set stepforge.serverCommand " +
      "or stepforge.pythonPath in your user settings."
    );
  }
  if (/EACCES/.test(text)) {
    return `StepForge: \`${command.command}\` cannot be run (permission denied): check stepforge.serverCommand.`;
  }
  return (
    `StepForge: the daemon (\`${[command.command, ...command.args].join(" ")}\`) did not start: ${text}. ` +
    "If Python says `No module named server`, StepForge is not installed in that Python: see the StepForge output."
  );
}
