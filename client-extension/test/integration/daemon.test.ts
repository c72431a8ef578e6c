// The extension's protocol client (src/rpc.ts) over plain vscode-jsonrpc against the real daemon,
// which talks to the project's fake Groq server: plan, generate, progress, file states, cancel.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from "vscode-jsonrpc/node";
import type { FileStatusNotification } from "../../src/protocol.generated";
import { StepForgeRpc, type WorkDoneProgressValue } from "../../src/rpc";

const REPO = join(__dirname, "..", "..", "..", "..");
const PYTHON = resolve(process.env.STEPFORGE_PYTHON ?? join(REPO, ".venv", "bin", "python"));
const REQUEST = "a task manager with a dashboard and charts";

let fake: ChildProcess;
let daemon: ChildProcess;
let connection: MessageConnection;
let rpc: StepForgeRpc;
let workspace: string;
const fileStates: FileStatusNotification[] = [];
let daemonCommands: string[] = [];

async function startFake(): Promise<{ baseUrl: string; key: string }> {
  fake = spawn(PYTHON, ["-m", "tests.fake_groq", "--port", "0", "--first-token", "0.02", "--tps", "3000"], {
    cwd: REPO,
    env: { ...process.env, PYTHONPATH: REPO },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: fake.stdout! });
  for await (const line of lines) {
    const match = /fake Groq on (\S+) \(key (\S+)\)/.exec(line);
    if (match) {
      return { baseUrl: match[1], key: match[2] };
    }
  }
  throw new Error("the fake Groq server did not start");
}

before(async () => {
  assert.ok(existsSync(PYTHON), `no Python at ${PYTHON}: run scripts/setup (or set STEPFORGE_PYTHON)`);
  const { baseUrl, key } = await startFake();
  workspace = mkdtempSync(join(tmpdir(), "stepforge-ext-it-"));
  const env = { ...process.env, PYTHONPATH: REPO, GROQ_BASE_URL: baseUrl, GROQ_API_KEY: key, STEPFORGE_RETRY_BACKOFF: "0.05" };
  daemon = spawn(PYTHON, ["-m", "server", "serve"], { cwd: REPO, env, stdio: ["pipe", "pipe", "inherit"] });
  connection = createMessageConnection(new StreamMessageReader(daemon.stdout!), new StreamMessageWriter(daemon.stdin!));
  connection.onRequest("window/workDoneProgress/create", () => null);
  connection.listen();
  const initialized = await connection.sendRequest<{
    serverInfo: { name: string };
    capabilities: { executeCommandProvider: { commands: string[] } };
  }>("initialize", {
    processId: process.pid,
    rootUri: pathToFileURL(workspace).href,
    capabilities: { window: { workDoneProgress: true } },
    initializationOptions: { watch: true },
  });
  assert.equal(initialized.serverInfo.name, "stepforge");
  daemonCommands = initialized.capabilities.executeCommandProvider.commands;
  await connection.sendNotification("initialized", {});
  rpc = new StepForgeRpc(connection);
  rpc.onFileStatus((status) => fileStates.push(status));
});

after(async () => {
  try {
    await connection.sendRequest("shutdown");
    await connection.sendNotification("exit");
  } finally {
    connection.dispose();
    daemon.kill();
    fake.kill();
  }
});

test("no command of the extension is one the daemon advertises (the client would not connect)", () => {
  const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8"));
  const ours: string[] = manifest.contributes.commands.map((c: { command: string }) => c.command);
  assert.ok(daemonCommands.includes("stepforge.regenerateFile") && daemonCommands.length >= 10);
  assert.deepEqual(ours.filter((id) => daemonCommands.includes(id)), []);
});

test("plan with progress writes .stepforge/plan.json", async () => {
  const progress: WorkDoneProgressValue[] = [];
  const result = await rpc.request("stepforge/plan", { request: REQUEST }, { onProgress: (v) => progress.push(v) });
  assert.equal(result.projectName, "task-manager");
  assert.deepEqual(JSON.parse(readFileSync(join(workspace, ".stepforge", "plan.json"), "utf8")), result.plan);
  assert.equal(progress[0].kind, "begin");
  assert.equal(progress.at(-1)?.kind, "end");
  assert.ok(progress.some((p) => p.kind === "report" && /plan/i.test(p.message ?? "")));
});

test("generate reports progress and every file's states", async () => {
  const progress: WorkDoneProgressValue[] = [];
  const result = await rpc.request("stepforge/generate", {}, { onProgress: (v) => progress.push(v) });
  assert.equal(result.written.length, 25);
  assert.deepEqual(result.failed, []);
  assert.equal(progress.at(-1)?.kind, "end");
  const done = new Set(fileStates.filter((s) => s.state === "done").map((s) => s.path));
  assert.equal(done.size, 25);
  assert.ok(fileStates.some((s) => s.state === "generating"));
  assert.ok(existsSync(join(workspace, "frontend/src/pages/Dashboard.tsx")));
  const status = await rpc.request("stepforge/status", {});
  assert.equal(status.counts?.done, 25); // every state is counted
  assert.equal(status.counts?.pending, 0);
});

test("an edit in the workspace comes back as userModified", async () => {
  const before = fileStates.length;
  const { appendFileSync } = await import("node:fs");
  appendFileSync(join(workspace, "backend/models/task.py"), "# my edit\n");
  const deadline = Date.now() + 10_000;
  while (!fileStates.slice(before).some((s) => s.path === "backend/models/task.py" && s.state === "userModified")) {
    assert.ok(Date.now() < deadline, "no userModified notification");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
});

test("cancelling a request stops the work in the daemon", async () => {
  const source = new CancellationTokenSource();
  const pending = rpc.request("stepforge/generate", { force: true, concurrency: 1 }, { token: source.token });
  setTimeout(() => source.cancel(), 300);
  await assert.rejects(pending, (error: { code?: number }) => error.code === -32800);
  const status = await rpc.request("stepforge/status", {});
  assert.equal(status.generating, false);
});
