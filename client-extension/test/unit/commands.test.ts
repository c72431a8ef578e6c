// The command handlers against the stubbed `vscode` module and a fake daemon connection.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, test } from "node:test";
import * as vscode from "vscode";
import { COMMANDS } from "../../src/commandIds";
import { StepForgeCommands } from "../../src/commands";
import { StepForgeRpc } from "../../src/rpc";
import { API_KEY_SECRET } from "../../src/settings";
import { PreviewStatusBar } from "../../src/statusBar";
import { FilesView } from "../../src/tree";
import { FileTreeModel } from "../../src/treeModel";
import { FakeConnection } from "../fakeConnection";
import * as stub from "../vscode-stub";

const PLAN = {
  project_name: "task-manager",
  files: { backend: ["backend/models/task.py"], frontend: ["frontend/src/pages/Dashboard.tsx"] },
  implementation_order: [
    { step: 1, type: "model", files: ["backend/models/task.py"] },
    { step: 2, type: "page", files: ["frontend/src/pages/Dashboard.tsx"] },
  ],
};

let connection: FakeConnection;
let commands: StepForgeCommands;
let files: FilesView;
let statusBar: PreviewStatusBar;
let restarts: number;
let root: string;

beforeEach(() => {
  stub.reset();
  root = mkdtempSync(join(tmpdir(), "stepforge-ext-"));
  stub.state.workspaceFolders = [{ uri: stub.Uri.file(root) }];
  connection = new FakeConnection()
    .on("stepforge/status", () => ({ workspace: root, planPresent: true, files: [], conflicts: [] }))
    .on("stepforge/plan", (params) => {
      mkdirSync(join(root, ".stepforge"), { recursive: true });
      writeFileSync(join(root, ".stepforge", "plan.json"), JSON.stringify(PLAN));
      return { projectName: "task-manager", plan: PLAN, planPath: join(root, ".stepforge/plan.json"), usage: {}, attempts: 1, notes: [], request: params.request };
    });
  files = new FilesView(new FileTreeModel(), () => stub.state.workspaceFolders[0]?.uri as unknown as vscode.Uri);
  statusBar = new PreviewStatusBar();
  restarts = 0;
  commands = new StepForgeCommands({
    rpc: () => new StepForgeRpc(connection),
    root: () => stub.state.workspaceFolders[0]?.uri as unknown as vscode.Uri,
    files,
    statusBar,
    secrets: stub.secretStorage() as unknown as vscode.SecretStorage,
    restartDaemon: async () => {
      restarts += 1;
    },
    showOutput: () => undefined,
  });
});

test("every command of the manifest is registered, under stepforge.ui.", () => {
  commands.register({ subscriptions: [] } as unknown as vscode.ExtensionContext);
  const manifest = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "package.json"), "utf8"));
  const contributed = manifest.contributes.commands.map((c: { command: string }) => c.command).sort();
  assert.deepEqual([...stub.state.commands.keys()].sort(), contributed);
  assert.deepEqual(Object.values(COMMANDS).sort(), contributed);
  assert.ok(contributed.every((id: string) => id.startsWith("stepforge.ui.")));
  const referenced = JSON.stringify([manifest.contributes.menus, manifest.contributes.viewsWelcome, manifest.contributes.walkthroughs]);
  assert.ok(contributed.includes((statusBar.item as unknown as { command: string }).command));
  for (const [, id] of referenced.matchAll(/(stepforge\.ui\.\w+)/g)) {
    assert.ok(contributed.includes(id), `${id} is referenced but not contributed`);
  }
});

test("the view's tally follows file states and the welcome view shows without a plan", () => {
  const view = { description: undefined as string | undefined };
  files.attach(view);
  assert.equal(view.description, undefined);
  assert.ok(stub.state.executed.some((e) => e.command === "setContext" && e.args[0] === "stepforge.hasPlan" && e.args[1] === false));
  files.model.setPlan(PLAN);
  files.refresh();
  assert.equal(view.description, "0/2 done");
  files.model.update("backend/models/task.py", "done");
  files.refresh();
  assert.equal(view.description, "1/2 done");
  files.model.update("frontend/src/pages/Dashboard.tsx", "failed", "kept failing");
  files.refresh();
  assert.equal(view.description, "1/2 done, 1 failed");
});

test("Change the App shows the delta, applies exactly it when confirmed", async () => {
  const delta = {
    summary: "favorites",
    add_files: [{ path: "frontend/src/pages/Favorites.tsx", purpose: "the page" }],
    modify_files: [{ path: "backend/models/task.py", change: "add favorite" }],
  };
  connection.on("stepforge/change", (params) =>
    params.dryRun
      ? { delta, dryRun: true }
      : { delta, written: ["frontend/src/pages/Favorites.tsx", "backend/models/task.py"], merged: [], removed: [], kept: [], conflicts: [], problems: [], historyId: 1 },
  );
  stub.state.inputs = ["add favorites"];
  stub.state.buttons = ["Apply"];
  await commands.changeApp();
  const [dry, apply] = connection.requests.filter((r) => r.method === "stepforge/change");
  assert.equal(dry.params.dryRun, true);
  assert.deepEqual(apply.params.delta, delta); // what the user saw, not a new answer
  const confirm = stub.state.shown.find((s) => s.text.startsWith("StepForge: apply this change?"));
  assert.ok(confirm?.text.includes("+ frontend/src/pages/Favorites.tsx: the page"));
  assert.ok(confirm?.text.includes("~ backend/models/task.py: add favorite"));
  assert.ok(stub.state.shown.some((s) => s.kind === "info" && s.text.startsWith("StepForge changed 2 file(s)")));
});

test("Change the App does nothing unless confirmed", async () => {
  connection.on("stepforge/change", () => ({ delta: { summary: "x" }, dryRun: true }));
  stub.state.inputs = ["add favorites"];
  stub.state.buttons = [undefined];
  await commands.changeApp();
  assert.equal(connection.requests.filter((r) => r.method === "stepforge/change").length, 1);
});

test("Undo Last Change confirms, then undoes", async () => {
  connection.on("stepforge/history", () => ({ entries: [{ id: 1, request: "add favorites", summary: "", time: 1, status: "applied", files: {} }] }));
  connection.on("stepforge/undo", () => ({ id: 1, reverted: ["a"], kept: [], message: "Undid change 1." }));
  stub.state.buttons = ["Undo"];
  await commands.undoChange();
  assert.ok(connection.requests.some((r) => r.method === "stepforge/undo"));
  assert.ok(stub.state.shown.some((s) => s.text === "StepForge: Undid change 1."));
});

test("Check Project names the problems and what could not be checked", async () => {
  connection.on("stepforge/check", () => ({
    problems: [{ path: "a.ts", line: 1, column: 1, severity: "error", code: "TS2339", message: "x", source: "tsc" }],
    tiers: [{ name: "tsc", ran: true }, { name: "smoke", ran: false, reason: "no preview" }],
  }));
  await commands.checkProject();
  const shown = stub.state.shown.find((s) => s.kind === "warning");
  assert.match(shown?.text ?? "", /1 problem\(s\).*Not checked: smoke \(no preview\)/);
});

test("Plan Project asks for the request, plans under progress and fills the tree", async () => {
  stub.state.inputs = ["a task manager with a dashboard"];
  stub.state.buttons = [undefined];
  await commands.planProject();
  const plan = connection.requests.find((r) => r.method === "stepforge/plan");
  assert.equal(plan?.params.request, "a task manager with a dashboard");
  assert.match(plan?.params.workDoneToken, /^stepforge-client-/);
  assert.ok(stub.state.shown.some((s) => s.kind === "progress" && s.text === "StepForge: planning"));
  assert.deepEqual(stub.state.progressReports.map((r) => r.increment), [undefined, 50, 40]);
  assert.equal(connection.progressListeners(), 0); // the progress subscription ends with the request
  assert.deepEqual(files.getChildren().map((n) => (n.kind === "step" ? n.label : "")), ["Step 1: model", "Step 2: page"]);
  assert.ok(stub.state.shown.some((s) => s.kind === "info" && s.text.startsWith("StepForge planned task-manager: 2 files")));
});

test("Escape in the request box sends nothing", async () => {
  stub.state.inputs = [undefined];
  await commands.planProject();
  assert.equal(connection.requests.length, 0);
});

test("without a folder the commands say what to do", async () => {
  stub.state.workspaceFolders = [];
  await commands.generateProject();
  assert.equal(connection.requests.length, 0);
  assert.match(stub.state.shown[0].text, /open a folder first/);
});

test("a daemon error is shown, a cancel is quiet", async () => {
  connection.on("stepforge/generate", () => {
    throw Object.assign(new Error("GROQ_API_KEY is not set: set it, or pass apiKey in initializationOptions."), { code: -33010 });
  });
  await commands.generateProject();
  assert.ok(stub.state.shown.some((s) => s.kind === "error" && s.text.includes("GROQ_API_KEY is not set")));
  stub.state.shown = [];
  stub.state.cancelProgress = true;
  connection.on("stepforge/generate", () => new Promise((resolve) => setTimeout(() => resolve({ written: [], failed: [], skipped: [], usage: {}, elapsedSeconds: 0 }), 600)));
  connection.progressScript = [];
  await commands.generateProject();
  assert.ok(!stub.state.shown.some((s) => s.kind === "error"));
  assert.ok(stub.state.shown.some((s) => s.kind === "info" && s.text === "StepForge: cancelled."));
});

test("Regenerate This File sends the file and the instructions, and offers to resolve a conflict", async () => {
  const file = join(root, "frontend/src/pages/Dashboard.tsx");
  connection.on("stepforge/regenerateFile", (params) => ({
    path: "frontend/src/pages/Dashboard.tsx",
    outcome: "conflict",
    conflictId: "abc123",
    message: `conflict for ${params.path}`,
  }));
  connection.on("stepforge/conflictDetails", () => ({ conflictId: "abc123", path: "frontend/src/pages/Dashboard.tsx", mine: "m", generated: "g", base: "b" }));
  connection.on("stepforge/resolveConflict", (params) => ({ path: "frontend/src/pages/Dashboard.tsx", choice: params.choice, message: "kept" }));
  stub.state.inputs = ["make it sortable"];
  stub.state.buttons = ["Resolve Conflict"];
  stub.state.picks = ["Keep mine"];
  await commands.regenerateFile(stub.Uri.file(file) as unknown as vscode.Uri);
  const regenerate = connection.requests.find((r) => r.method === "stepforge/regenerateFile");
  assert.equal(regenerate?.params.path, file);
  assert.equal(regenerate?.params.instructions, "make it sortable");
  const diff = stub.state.executed.find((e) => e.command === "vscode.diff");
  assert.ok(diff, "a diff of mine and generated was opened");
  assert.equal(String(diff?.args[1]), "stepforge-generated:///frontend/src/pages/Dashboard.tsx?abc123");
  const resolve = connection.requests.find((r) => r.method === "stepforge/resolveConflict");
  assert.deepEqual(resolve?.params, { conflictId: "abc123", choice: "mine" });
});

test("Resolve Conflict with 'Use my merge' sends the file as the user merged it", async () => {
  mkdirSync(join(root, "src"), { recursive: true });
  writeFileSync(join(root, "src/a.ts"), "merged by hand\n");
  connection.on("stepforge/status", () => ({ workspace: root, planPresent: true, conflicts: [{ conflictId: "c1", path: "src/a.ts", created: 1 }] }));
  connection.on("stepforge/conflictDetails", () => ({ conflictId: "c1", path: "src/a.ts", mine: "m", generated: "g", base: "b" }));
  connection.on("stepforge/resolveConflict", (params) => ({ path: "src/a.ts", choice: params.choice, message: "merged" }));
  stub.state.picks = ["src/a.ts", "Use my merge"];
  await commands.resolveConflict();
  const resolve = connection.requests.find((r) => r.method === "stepforge/resolveConflict");
  assert.deepEqual(resolve?.params, { conflictId: "c1", choice: "merged", content: "merged by hand\n" });
});

test("Start Preview shows the URLs in the status bar; Open Preview uses the Simple Browser", async () => {
  connection.on("stepforge/preview/start", () => ({ frontendUrl: "http://127.0.0.1:3002", backendUrl: "http://127.0.0.1:8002", runtime: "docker", message: "Preview running." }));
  connection.on("stepforge/preview/status", () => ({ running: true, frontendUrl: "http://127.0.0.1:3002", backendUrl: "http://127.0.0.1:8002", runtime: "docker" }));
  stub.state.buttons = ["Open Preview"];
  await commands.startPreview();
  const item = statusBar.item as unknown as { text: string; visible: boolean };
  assert.ok(item.visible && item.text.includes("127.0.0.1:3002") && item.text.includes("8002"));
  assert.deepEqual(stub.state.executed.find((e) => e.command === "simpleBrowser.show")?.args, ["http://127.0.0.1:3002"]);
  connection.on("stepforge/preview/stop", () => ({ stopped: true, message: "Stopped." }));
  await commands.stopPreview();
  assert.equal(item.visible, false);
});

test("Set API Key stores the key in secret storage only, and restarts the daemon", async () => {
  stub.state.inputs = ["gsk-very-secret"];
  await commands.setApiKey();
  assert.equal(stub.state.secrets.get(API_KEY_SECRET), "gsk-very-secret");
  assert.equal(restarts, 1);
  assert.deepEqual(stub.state.configuration, {}); // nothing written to settings
  assert.ok(!stub.state.shown.some((s) => s.text.includes("gsk-very-secret")));
});

test("Show Plan opens .stepforge/plan.json", async () => {
  mkdirSync(join(root, ".stepforge"), { recursive: true });
  writeFileSync(join(root, ".stepforge/plan.json"), JSON.stringify(PLAN));
  await commands.showPlan();
  assert.ok(stub.state.shown.some((s) => s.kind === "document" && s.text === join(root, ".stepforge/plan.json")));
});

test("tree items open their file and show their state", () => {
  files.model.setPlan(PLAN);
  files.model.update("backend/models/task.py", "conflict", "your edits conflict");
  const [step] = files.getChildren();
  const [file] = files.getChildren(step);
  const item = files.getTreeItem(file) as unknown as stub.TreeItem;
  assert.equal(item.label, "task.py");
  assert.equal(item.iconPath?.id, "warning");
  assert.equal(item.command?.command, "vscode.open");
  assert.equal((item.command?.arguments?.[0] as stub.Uri).fsPath, join(root, "backend/models/task.py"));
  assert.match(item.tooltip ?? "", /conflict \(your edits conflict\)/);
});
