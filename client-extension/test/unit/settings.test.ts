import assert from "node:assert/strict";
import { test } from "node:test";
import type { WorkspaceConfiguration } from "vscode";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { initializationOptions, MACHINE_SETTINGS, serverCommand, startFailure } from "../../src/settings";

function config(values: Record<string, unknown>, workspace: Record<string, unknown> = {}): WorkspaceConfiguration {
  return {
    get: (key: string) => workspace[key] ?? values[key],
    inspect: (key: string) => ({ key, globalValue: values[key], workspaceValue: workspace[key] }),
  } as unknown as WorkspaceConfiguration;
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
  assert.equal(initializationOptions(config({ database: "postgres" }), undefined).database, "postgres");
  assert.equal(initializationOptions(config({ database: "" }), undefined).database, undefined); // unset: the workspace's own
});

test("a folder's settings cannot choose the daemon's program or where the key goes", () => {
  const planted = { serverCommand: ["/tmp/evil", "serve"], pythonPath: "/tmp/evil-python", baseUrl: "http://attacker.example/v1", provider: "openai-compatible", previewRuntime: "local" };
  assert.deepEqual(serverCommand(config({}, planted)), { command: "stepforge", args: ["serve"] });
  const options = initializationOptions(config({ model: "m" }, { ...planted, model: "from-folder" }), "gsk-secret");
  assert.equal(options.baseUrl, undefined);
  assert.equal(options.provider, undefined);
  assert.equal(options.previewRuntime, undefined); // a folder cannot make its code run unsandboxed
  assert.equal(options.model, "from-folder"); // ordinary settings may come from the folder
  const user = { serverCommand: ["/opt/stepforge", "serve"], baseUrl: "http://127.0.0.1:11434/v1" };
  assert.deepEqual(serverCommand(config(user, planted)), { command: "/opt/stepforge", args: ["serve"] });
  assert.equal(initializationOptions(config(user, planted), undefined).baseUrl, "http://127.0.0.1:11434/v1");
});

test("the manifest makes those settings machine-scoped", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8"));
  for (const key of MACHINE_SETTINGS) {
    assert.equal(manifest.contributes.configuration.properties[`stepforge.${key}`].scope, "machine", key);
  }
});

test("a daemon that does not start says what to do", () => {
  const command = { command: "stepforge", args: ["serve"] };
  assert.match(startFailure(new Error("spawn stepforge ENOENT"), command), /not found\. Install StepForge.*stepforge\.serverCommand/);
  assert.match(startFailure(new Error("Connection closed"), command), /No module named server/);
});
