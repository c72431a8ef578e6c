import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkspaceConfiguration } from "vscode";
import { initializationOptions, serverCommand } from "../../src/settings";

function config(values: Record<string, unknown>): WorkspaceConfiguration {
  return { get: (key: string) => values[key] } as unknown as WorkspaceConfiguration;
}

test("the daemon command: explicit, then a Python interpreter, then `stepforge serve`", () => {
  assert.deepEqual(serverCommand(config({ serverCommand: ["/venv/bin/stepforge", "serve"] })), {
    command: "/venv/bin/stepforge",
    args: ["serve"],
  });
  assert.deepEqual(serverCommand(config({ pythonPath: "/venv/bin/python" })), {
    command: "/venv/bin/python",
    args: ["-m", "server", "serve"],
  });
  assert.deepEqual(serverCommand(config({})), { command: "stepforge", args: ["serve"] });
});

test("settings become initializationOptions, the key only from secret storage", () => {
  const settings = config({ model: "m", provider: "openai-compatible", baseUrl: "http://127.0.0.1:11434/v1", concurrency: 3, previewRuntime: "local", apiKey: "from-settings" });
  assert.deepEqual(initializationOptions(settings, "gsk-secret"), {
    model: "m",
    provider: "openai-compatible",
    baseUrl: "http://127.0.0.1:11434/v1",
    concurrency: 3,
    previewRuntime: "local",
    apiKey: "gsk-secret",
  });
  assert.equal(initializationOptions(settings, undefined).apiKey, undefined); // never read from settings
  assert.equal(initializationOptions(config({ baseUrl: "" }), undefined).baseUrl, undefined);
});
