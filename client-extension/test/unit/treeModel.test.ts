import assert from "node:assert/strict";
import { test } from "node:test";
import { FileTreeModel, STATE_ICONS } from "../../src/treeModel";

const plan = {
  implementation_order: [
    { step: 2, type: "page", files: ["frontend/src/pages/Dashboard.tsx"] },
    { step: 1, type: "model", files: ["backend/models/task.py", "backend/models/project.py"] },
  ],
};

test("files are grouped by step, in step order, pending until told otherwise", () => {
  const model = new FileTreeModel();
  model.setPlan(plan);
  const steps = model.roots();
  assert.deepEqual(steps.map((s) => s.label), ["Step 1: model", "Step 2: page"]);
  assert.deepEqual(model.children(steps[0]).map((f) => [f.path, f.state]), [
    ["backend/models/task.py", "pending"],
    ["backend/models/project.py", "pending"],
  ]);
});

test("file states follow fileStatus notifications and status answers", () => {
  const model = new FileTreeModel();
  model.setPlan(plan);
  model.update("backend/models/task.py", "generating");
  model.update("backend/models/task.py", "done");
  model.applyStatus({
    workspace: "/w",
    planPresent: true,
    files: [{ path: "backend/models/project.py", state: "failed", reason: "syntax error" }],
  });
  const [first] = model.roots();
  assert.deepEqual(model.children(first).map((f) => f.state), ["done", "failed"]);
  assert.equal(model.children(first)[1].reason, "syntax error");
  assert.equal(model.summary(), "1/3 done, 1 failed");
});

test("a new plan keeps the states already known", () => {
  const model = new FileTreeModel();
  model.setPlan(plan);
  model.update("backend/models/task.py", "userModified");
  model.setPlan({ implementation_order: [{ step: 1, files: ["backend/models/task.py", "backend/new.py"] }] });
  assert.deepEqual(model.children(model.roots()[0]).map((f) => f.state), ["userModified", "pending"]);
});

test("every state has an icon", () => {
  for (const state of ["pending", "generating", "done", "failed", "skipped", "userModified", "deleted", "conflict"] as const) {
    assert.ok(STATE_ICONS[state].icon);
  }
  assert.equal(STATE_ICONS.generating.icon, "sync~spin");
  assert.equal(STATE_ICONS.conflict.icon, "warning");
});
