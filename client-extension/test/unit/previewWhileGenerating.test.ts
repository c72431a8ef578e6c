// Generate Project starts the preview while the files are written (stepforge.previewWhileGenerating),
// and a preview that cannot start never breaks the generation.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, test } from "node:test";
import * as vscode from "vscode";
import { StepForgeCommands } from "../../src/commands";
import { StepForgeRpc } from "../../src/rpc";
import { PreviewStatusBar } from "../../src/statusBar";
import { FilesView } from "../../src/tree";
import { FileTreeModel } from "../../src/treeModel";
import { FakeConnection } from "../fakeConnection";
import * as stub from "../vscode-stub";

const GENERATED = { written: ["a.ts", "b.py"], failed: [], skipped: [], usage: {}, elapsedSeconds: 2, checks: [{ name: "tsc", ran: true }] };
const PREVIEW = { frontendUrl: "http://127.0.0.1:3002", backendUrl: "http://127.0.0.1:8002", runtime: "docker", message: "Preview running." };

let connection: FakeConnection;
let commands: StepForgeCommands;
let statusBar: PreviewStatusBar;
/** When each request reached the "daemon", and when generate answered. */
let order: string[];

beforeEach(() => {
  stub.reset();
  const root = mkdtempSync(join(tmpdir(), "stepforge-ext-"));
  stub.state.workspaceFolders = [{ uri: stub.Uri.file(root) }];
  order = [];
  connection = new FakeConnection()
    .on("stepforge/status", () => ({ workspace: root, planPresent: true, files: [], conflicts: [] }))
    .on("stepforge/generate", async () => {
      order.push("generate");
      await new Promise((resolve) => setTimeout(resolve, 50)); // the files being written
      order.push("generated");
      return GENERATED;
    })
    .on("stepforge/preview/start", () => {
      order.push("preview");
      return PREVIEW;
    });
  statusBar = new PreviewStatusBar();
  commands = new StepForgeCommands({
    rpc: () => new StepForgeRpc(connection),
    root: () => stub.state.workspaceFolders[0]?.uri as unknown as vscode.Uri,
    files: new FilesView(new FileTreeModel(), () => stub.state.workspaceFolders[0]?.uri as unknown as vscode.Uri),
    statusBar,
    secrets: stub.secretStorage() as unknown as vscode.SecretStorage,
    restartDaemon: async () => undefined,
    showOutput: () => undefined,
  });
});

test("the preview starts while generate runs, in Docker, and the summary offers to open it", async () => {
  stub.state.buttons = [undefined, undefined];
  await commands.generateProject();
  const start = connection.requests.find((r) => r.method === "stepforge/preview/start");
  assert.deepEqual(start?.params, { runtime: "docker" }); // auto never falls back to local unasked
  assert.deepEqual(order, ["preview", "generate", "generated"]); // once the daemon reported progress
  assert.equal(statusBar.frontendUrl, PREVIEW.frontendUrl);
  assert.ok(stub.state.shown.some((s) => s.kind === "info" && s.text.includes("each page appears as its file is written")));
  const summary = stub.state.shown.find((s) => s.text.startsWith("StepForge wrote 2 files"));
  assert.deepEqual(summary?.items, ["Open Preview"]);
});

test("the summary never waits for a preview that is still starting", async () => {
  let answered = false;
  connection.on("stepforge/preview/start", () => new Promise((resolve) => setTimeout(() => resolve(PREVIEW), 400)).then((r) => ((answered = true), r)));
  stub.state.buttons = [undefined, undefined];
  await commands.generateProject();
  assert.equal(answered, false);
  const summary = stub.state.shown.find((s) => s.text.startsWith("StepForge wrote 2 files"));
  assert.deepEqual(summary?.items, ["Open Preview"]); // it is on its way
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.equal(statusBar.frontendUrl, PREVIEW.frontendUrl);
});

test("without Docker the generation still ends well, with a message about the preview", async () => {
  connection.on("stepforge/preview/start", () => {
    throw Object.assign(new Error("No runtime can run the preview: docker: Docker is not running."), { code: -33031 });
  });
  stub.state.buttons = [undefined, undefined];
  await commands.generateProject();
  assert.ok(!stub.state.shown.some((s) => s.kind === "error"));
  const warning = stub.state.shown.find((s) => s.kind === "warning");
  assert.match(warning?.text ?? "", /preview did not start while generating \(No runtime can run the preview: docker: Docker is not running\.\); the generation goes on/);
  const summary = stub.state.shown.find((s) => s.text.startsWith("StepForge wrote 2 files"));
  assert.equal(summary?.kind, "info");
  assert.deepEqual(summary?.items, ["Start Preview"]);
  assert.equal(statusBar.frontendUrl, undefined);
});

test("the setting turns it off, and previewRuntime local is the user's choice of runtime", async () => {
  stub.state.configuration = { previewWhileGenerating: false };
  stub.state.buttons = [undefined];
  await commands.generateProject();
  assert.ok(!connection.requests.some((r) => r.method === "stepforge/preview/start"));

  stub.state.configuration = { previewRuntime: "local" };
  stub.state.buttons = [undefined, undefined];
  await commands.generateProject();
  const start = connection.requests.find((r) => r.method === "stepforge/preview/start");
  assert.deepEqual(start?.params, {}); // the daemon's own setting: local
});

test("a generate whose check did not finish is a warning that says so, never a plain success", async () => {
  connection.on("stepforge/generate", () => ({ ...GENERATED, checks: [{ name: "tsc", ran: false, reason: "killed (exit 137)" }] }));
  stub.state.configuration = { previewWhileGenerating: false };
  await commands.generateProject();
  const summary = stub.state.shown.find((s) => s.text.startsWith("StepForge wrote 2 files"));
  assert.equal(summary?.kind, "warning");
  assert.match(summary?.text ?? "", /not fully checked: tsc \(killed \(exit 137\)\)/);
});
