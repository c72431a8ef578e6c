// "StepForge: Show Screenshots": the runtime check's pictures, listed by route and opened.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, test } from "node:test";
import * as vscode from "vscode";
import { routeOfPicture, screenshotNames, showScreenshots } from "../../src/screenshots";
import * as stub from "../vscode-stub";

let root: string;

beforeEach(() => {
  stub.reset();
  root = mkdtempSync(join(tmpdir(), "stepforge-shots-"));
});

function picture(name: string): void {
  mkdirSync(join(root, ".stepforge", "screenshots"), { recursive: true });
  writeFileSync(join(root, ".stepforge", "screenshots", name), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
}

test("pictures are named after their routes", () => {
  assert.equal(routeOfPicture("tasks.png"), "/tasks");
  assert.equal(routeOfPicture("index.png"), "/");
  picture("tasks.png");
  picture("dashboard.png");
  writeFileSync(join(root, ".stepforge", "screenshots", "notes.txt"), "not a picture");
  assert.deepEqual(screenshotNames(root), ["dashboard.png", "tasks.png"]);
});

test("without pictures it says how to get them", async () => {
  const shown = await showScreenshots(stub.Uri.file(root) as unknown as vscode.Uri);
  assert.equal(shown, false);
  assert.ok(stub.state.shown.some((s) => /check --runtime/.test(s.text)));
  assert.deepEqual(stub.state.executed, []);
});

test("the picked route's picture opens in VS Code", async () => {
  picture("dashboard.png");
  picture("tasks.png");
  stub.state.picks.push("/tasks");
  assert.equal(await showScreenshots(stub.Uri.file(root) as unknown as vscode.Uri), true);
  const pick = stub.state.shown.find((s) => s.kind === "quickPick") as { items: { label: string }[] };
  assert.deepEqual(pick.items.map((item) => item.label), ["/dashboard", "/tasks"]);
  const [opened] = stub.state.executed;
  assert.equal(opened.command, "vscode.open");
  assert.equal((opened.args[0] as stub.Uri).fsPath, join(root, ".stepforge", "screenshots", "tasks.png"));
});
