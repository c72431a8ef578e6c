// The palette commands. Each asks what it needs, sends one request under progress, and says
// what happened; the daemon does the work.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as vscode from "vscode";
import { COMMANDS } from "./commandIds";
import { withDaemonProgress } from "./progress";
import type { ConflictInfo, StatusResult } from "./protocol.generated";
import type { StepForgeRpc } from "./rpc";
import { showScreenshots } from "./screenshots";
import { API_KEY_SECRET, machineValue } from "./settings";
import type { PreviewStatusBar } from "./statusBar";
import type { FilesView } from "./tree";

export const GENERATED_SCHEME = "stepforge-generated";
const REQUEST_CANCELLED = -32800;

export interface Services {
  rpc(): StepForgeRpc;
  root(): vscode.Uri | undefined;
  files: FilesView;
  statusBar: PreviewStatusBar;
  secrets: vscode.SecretStorage;
  restartDaemon(): Promise<void>;
  showOutput(): void;
  /** A line in the StepForge output (what happened without a message of its own). */
  log?(message: string): void;
}

/** The proposals of open conflicts, shown on the right of the diff (scheme stepforge-generated). */
export class GeneratedVersions implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  uriFor(conflictId: string, path: string, text: string): vscode.Uri {
    this.texts.set(conflictId, text);
    return vscode.Uri.parse(`${GENERATED_SCHEME}:/${path}?${conflictId}`);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.query) ?? "";
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function cancelled(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: number }).code === REQUEST_CANCELLED;
}

export class StepForgeCommands {
  readonly generatedVersions = new GeneratedVersions();

  constructor(private readonly services: Services) {}

  register(context: vscode.ExtensionContext): void {
    const commands: [string, (...args: any[]) => unknown][] = [
      [COMMANDS.planProject, () => this.planProject()],
      [COMMANDS.generateProject, () => this.generateProject()],
      [COMMANDS.changeApp, () => this.changeApp()],
      [COMMANDS.undoChange, () => this.undoChange()],
      [COMMANDS.showChange, () => this.showChange()],
      [COMMANDS.checkProject, () => this.checkProject()],
      [COMMANDS.regenerateFile, (uri?: vscode.Uri) => this.regenerateFile(uri)],
      [COMMANDS.resolveConflict, (conflictId?: string) => this.resolveConflict(conflictId)],
      [COMMANDS.startPreview, () => this.startPreview()],
      [COMMANDS.stopPreview, () => this.stopPreview()],
      [COMMANDS.openPreview, () => this.openPreview()],
      [COMMANDS.resetPreviewData, () => this.resetPreviewData()],
      [COMMANDS.showPlan, () => this.showPlan()],
      [COMMANDS.showScreenshots, () => this.showScreenshots()],
      [COMMANDS.showStatus, () => this.showStatus()],
      [COMMANDS.setApiKey, () => this.setApiKey()],
      [COMMANDS.refreshFiles, () => this.refreshFiles()],
      [COMMANDS.showOutput, () => this.services.showOutput()],
      [COMMANDS.restartDaemon, () => this.services.restartDaemon()],
    ];
    for (const [name, handler] of commands) {
      context.subscriptions.push(vscode.commands.registerCommand(name, handler));
    }
    context.subscriptions.push(
      vscode.workspace.registerTextDocumentContentProvider(GENERATED_SCHEME, this.generatedVersions),
    );
  }

  /** Run `work`; a daemon error becomes an error message, a cancel a quiet note. */
  private async guarded<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (!this.services.root()) {
      void vscode.window.showErrorMessage("StepForge: open a folder first; StepForge builds the app in it.");
      return undefined;
    }
    try {
      return await work();
    } catch (error) {
      if (cancelled(error)) {
        void vscode.window.showInformationMessage("StepForge: cancelled.");
      } else {
        void vscode.window.showErrorMessage(`StepForge: ${errorText(error)}`);
      }
      return undefined;
    }
  }

  async planProject(): Promise<void> {
    await this.guarded(async () => {
      const request = await vscode.window.showInputBox({
        title: "StepForge: Plan Project",
        prompt: "What should StepForge build?",
        placeHolder: "a task manager with a dashboard and charts",
        ignoreFocusOut: true,
      });
      if (!request?.trim()) {
        return;
      }
      const result = await withDaemonProgress("StepForge: planning", (options) =>
        this.services.rpc().request("stepforge/plan", { request: request.trim() }, options),
      );
      this.services.files.model.setPlan(result.plan as never);
      await this.refreshFiles();
      const files = Object.values((result.plan as { files?: Record<string, unknown[]> }).files ?? {}).flat().length;
      const choice = await vscode.window.showInformationMessage(
        `StepForge planned ${result.projectName}: ${files} files.` + (result.notes?.length ? ` ${result.notes.join(" ")}` : ""),
        "Generate Project",
        "Show Plan",
      );
      if (choice === "Generate Project") {
        await this.generateProject();
      } else if (choice === "Show Plan") {
        await this.showPlan();
      }
    });
  }

  async generateProject(): Promise<void> {
    await this.guarded(async () => {
      const config = vscode.workspace.getConfiguration("stepforge");
      const concurrency = config.get<number>("concurrency");
      const previewEarly = config.get<boolean>("previewWhileGenerating") ?? true;
      // "starting" until the preview answers; the summary never waits for it.
      const preview = { state: "off" as "off" | "starting" | "running" | "failed" };
      const result = await withDaemonProgress("StepForge: generating", (options) =>
        this.services.rpc().request("stepforge/generate", concurrency ? { concurrency } : {}, {
          ...options,
          onProgress: (value) => {
            // The daemon's first report comes once it holds the workspace with the template and
            // the routes laid out: run the app now, each page appears as its file is written.
            if (previewEarly && value.kind === "report" && preview.state === "off") {
              preview.state = "starting";
              this.services.log?.("preview while generating: starting");
              void this.previewWhileGenerating().then((running) => (preview.state = running ? "running" : "failed"));
            }
            options.onProgress?.(value);
          },
        }),
      );
      await this.refreshFiles();
      const repaired = result.repaired?.length ? `, repaired ${result.repaired.length}` : "";
      const summary = `StepForge wrote ${result.written.length} files${repaired} in ${result.elapsedSeconds.toFixed(1)} s`;
      const errors = result.problems?.filter((p) => p.severity === "error").length ?? 0;
      const notChecked = (result.checks ?? []).filter((t) => !t.ran).map((t) => `${t.name} (${t.reason ?? "did not run"})`);
      if (result.failed.length || result.skipped.length || result.conflicts?.length || errors || notChecked.length) {
        const problems = [
          ...result.failed.map((f) => `${f.path} failed: ${f.reason}`),
          ...result.skipped.map((s) => `${s.path} skipped: ${s.reason}`),
          ...(result.conflicts ?? []).map((c) => `${c.path}: conflict`),
          ...(errors ? [`${errors} problem(s) remain (see the Problems panel)`] : []),
          // An incomplete check is no verdict: never a plain success (as `stepforge check` says).
          ...(notChecked.length ? [`not fully checked: ${notChecked.join(", ")}`] : []),
        ];
        void vscode.window.showWarningMessage(`${summary}; ${problems.join("; ")}`);
      } else {
        const action = preview.state === "running" || preview.state === "starting" ? "Open Preview" : "Start Preview";
        const choice = await vscode.window.showInformationMessage(`${summary}.`, action);
        if (choice === "Open Preview") {
          await this.openPreview();
        } else if (choice === "Start Preview") {
          await this.startPreview();
        }
      }
    });
  }

  /** The preview started while generate writes the files (stepforge.previewWhileGenerating).
   * Never fails the generation: a preview that cannot start (no Docker) is a message. With
   * previewRuntime auto it asks for Docker only: unasked, generated code never runs unsandboxed.
   * Resolves to whether the preview runs. */
  private async previewWhileGenerating(): Promise<boolean> {
    const runtime = machineValue<string>(vscode.workspace.getConfiguration("stepforge"), "previewRuntime");
    try {
      const result = await this.services
        .rpc()
        .request("stepforge/preview/start", runtime === "local" ? {} : { runtime: "docker" });
      this.services.statusBar.show(result.frontendUrl, result.backendUrl, result.runtime);
      this.services.log?.(`preview while generating: ${result.message} ${result.frontendUrl}`);
      void vscode.window
        .showInformationMessage(
          `StepForge: the preview runs at ${result.frontendUrl}; each page appears as its file is written.`,
          "Open Preview",
        )
        .then((choice) => (choice === "Open Preview" ? this.openPreview() : undefined));
      return true;
    } catch (error) {
      this.services.log?.(`preview while generating did not start: ${errorText(error)}`);
      if (!cancelled(error)) {
        void vscode.window.showWarningMessage(
          `StepForge: the preview did not start while generating (${errorText(error)}); the generation goes on. ` +
            "Start it later with “StepForge: Start Preview”, or turn this off with stepforge.previewWhileGenerating.",
        );
      }
      return false;
    }
  }

  async changeApp(): Promise<void> {
    await this.guarded(async () => {
      const request = await vscode.window.showInputBox({
        title: "StepForge: Change the App",
        prompt: "What should change? StepForge shows the plan delta before it writes anything.",
        placeHolder: "add a favorites page",
        ignoreFocusOut: true,
      });
      if (!request?.trim()) {
        return;
      }
      const proposal = await withDaemonProgress("StepForge: planning the change", (options) =>
        this.services.rpc().request("stepforge/change", { request: request.trim(), dryRun: true }, options),
      );
      const choice = await vscode.window.showInformationMessage(
        `StepForge: apply this change? ${deltaSummary(proposal.delta)}`,
        { modal: true, detail: deltaDetail(proposal.delta) },
        "Apply",
      );
      if (choice !== "Apply") {
        return;
      }
      const result = await withDaemonProgress("StepForge: changing the app", (options) =>
        this.services.rpc().request("stepforge/change", { request: request.trim(), delta: proposal.delta }, options),
      );
      await this.refreshFiles();
      const problems = result.problems?.filter((p) => p.severity === "error").length ?? 0;
      const summary =
        `StepForge changed ${result.written?.length ?? 0} file(s)` +
        (result.merged?.length ? `, merged your edits in ${result.merged.length}` : "") +
        (result.removed?.length ? `, removed ${result.removed.length}` : "") +
        (result.kept?.length ? `, kept ${result.kept.length} you edited` : "") +
        (problems ? `; ${problems} problem(s) remain (see Problems)` : "") +
        ".";
      if (result.conflicts?.length) {
        const pick = await vscode.window.showWarningMessage(`${summary} Conflicts: ${result.conflicts.map((c) => c.path).join(", ")}.`, "Resolve Conflict");
        if (pick === "Resolve Conflict") {
          await this.resolveConflict(result.conflicts[0].conflictId);
        }
      } else {
        void vscode.window.showInformationMessage(summary);
      }
    });
  }

  async undoChange(): Promise<void> {
    await this.guarded(async () => {
      const history = await this.services.rpc().request("stepforge/history", {});
      // History lists every StepForge commit; undo takes back the last change not undone yet.
      const last = [...history.entries]
        .reverse()
        .find((e) => (e.kind ?? "change") === "change" && e.status !== "undone");
      if (!last) {
        void vscode.window.showInformationMessage("StepForge: there is no change to undo.");
        return;
      }
      const choice = await vscode.window.showWarningMessage(
        `StepForge: undo “${last.request}”? Files you edited since stay as they are.`,
        { modal: true },
        "Undo",
      );
      if (choice !== "Undo") {
        return;
      }
      const result = await this.services.rpc().request("stepforge/undo", {});
      await this.refreshFiles();
      void vscode.window.showInformationMessage(`StepForge: ${result.message}`);
    });
  }

  /** Pick one of StepForge's commits and open its diff (`git show`) beside the editor. */
  async showChange(): Promise<void> {
    await this.guarded(async () => {
      const history = await this.services.rpc().request("stepforge/history", {});
      const picks = [...history.entries]
        .reverse()
        .filter((e) => e.commit)
        .map((e) => ({
          label: `${e.kind ?? "change"} ${e.id}`,
          description: `${e.commit?.slice(0, 10)} · ${e.status}`,
          detail: e.request,
          commit: e.commit as string,
        }));
      if (!picks.length) {
        void vscode.window.showInformationMessage("StepForge: no StepForge commit yet.");
        return;
      }
      const chosen = await vscode.window.showQuickPick(picks, { placeHolder: "Show which step?" });
      if (!chosen) {
        return;
      }
      const root = (this.services.root() as vscode.Uri).fsPath;
      const { stdout } = await promisify(execFile)(
        "git",
        ["show", "--stat", "--patch", "--no-color", chosen.commit, "--"],
        { cwd: root, maxBuffer: 32 * 1024 * 1024 },
      );
      const document = await vscode.workspace.openTextDocument({ content: stdout, language: "diff" });
      await vscode.window.showTextDocument(document, { preview: true });
    });
  }

  async checkProject(): Promise<void> {
    await this.guarded(async () => {
      const result = await withDaemonProgress("StepForge: checking", (options) =>
        this.services.rpc().request("stepforge/check", {}, options),
      );
      const errors = result.problems.filter((p) => p.severity === "error").length;
      const skipped = result.tiers.filter((t) => !t.ran).map((t) => `${t.name} (${t.reason})`);
      const text =
        (errors ? `StepForge: ${errors} problem(s); they are in the Problems panel.` : "StepForge: no problems found.") +
        (skipped.length ? ` Not checked: ${skipped.join("; ")}.` : "");
      if (errors) {
        void vscode.window.showWarningMessage(text);
      } else {
        void vscode.window.showInformationMessage(text);
      }
    });
  }

  async regenerateFile(uri?: vscode.Uri): Promise<void> {
    await this.guarded(async () => {
      const target = uri ?? vscode.window.activeTextEditor?.document.uri;
      if (!target || target.scheme !== "file") {
        void vscode.window.showErrorMessage("StepForge: open the planned file to regenerate first.");
        return;
      }
      const instructions = await vscode.window.showInputBox({
        title: "StepForge: Regenerate This File",
        prompt: "What should change? (optional; your edits are kept)",
        placeHolder: "make the table sortable",
        ignoreFocusOut: true,
      });
      if (instructions === undefined) {
        return; // Escape
      }
      const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === target.toString());
      if (document?.isDirty) {
        await document.save(); // the daemon merges with what is on disk
      }
      const result = await withDaemonProgress("StepForge: regenerating", (options) =>
        this.services.rpc().request(
          "stepforge/regenerateFile",
          { path: target.fsPath, ...(instructions.trim() ? { instructions: instructions.trim() } : {}) },
          options,
        ),
      );
      if (result.outcome === "conflict" && result.conflictId) {
        const choice = await vscode.window.showWarningMessage(result.message, "Resolve Conflict");
        if (choice === "Resolve Conflict") {
          await this.resolveConflict(result.conflictId);
        }
      } else {
        void vscode.window.showInformationMessage(result.message);
      }
    });
  }

  async resolveConflict(conflictId?: string): Promise<void> {
    await this.guarded(async () => {
      const rpc = this.services.rpc();
      let id = conflictId;
      if (!id) {
        const status = await rpc.request("stepforge/status", {});
        const open: ConflictInfo[] = status.conflicts ?? [];
        if (open.length === 0) {
          void vscode.window.showInformationMessage("StepForge: no open conflicts.");
          return;
        }
        const picked = await vscode.window.showQuickPick(
          open.map((c) => ({ label: c.path, description: c.conflictId, conflictId: c.conflictId })),
          { title: "StepForge: Resolve Conflict" },
        );
        id = picked?.conflictId;
      }
      if (!id) {
        return;
      }
      const details = await rpc.request("stepforge/conflictDetails", { conflictId: id });
      const root = this.services.root() as vscode.Uri;
      const mine = vscode.Uri.joinPath(root, details.path);
      const generated = this.generatedVersions.uriFor(id, details.path, details.generated);
      await vscode.commands.executeCommand("vscode.diff", mine, generated, `${details.path}: yours ↔ generated`);
      const choice = await vscode.window.showQuickPick(
        [
          { label: "Keep mine", choice: "mine" as const, detail: "Your file stays as it is." },
          { label: "Take generated", choice: "generated" as const, detail: "Your file is replaced by the new version." },
          { label: "Use my merge", choice: "merged" as const, detail: "Edit your file (left) to merge by hand, then pick this." },
        ],
        { title: `StepForge: settle the conflict in ${details.path}`, ignoreFocusOut: true },
      );
      if (!choice) {
        return;
      }
      let content: string | undefined;
      if (choice.choice === "merged") {
        const document = await vscode.workspace.openTextDocument(mine);
        content = document.getText();
      }
      const result = await rpc.request("stepforge/resolveConflict", {
        conflictId: id,
        choice: choice.choice,
        ...(content !== undefined ? { content } : {}),
      });
      void vscode.window.showInformationMessage(result.message);
      await this.refreshFiles();
    });
  }

  async startPreview(): Promise<void> {
    await this.guarded(async () => {
      const result = await withDaemonProgress("StepForge: starting the preview", (options) =>
        this.services.rpc().request("stepforge/preview/start", {}, options),
      );
      this.services.statusBar.show(result.frontendUrl, result.backendUrl, result.runtime);
      const choice = await vscode.window.showInformationMessage(`${result.message} ${result.frontendUrl}`, "Open Preview");
      if (choice === "Open Preview") {
        await this.openPreview();
      }
    });
  }

  async stopPreview(): Promise<void> {
    await this.guarded(async () => {
      const result = await this.services.rpc().request("stepforge/preview/stop", {});
      this.services.statusBar.hide();
      void vscode.window.showInformationMessage(result.message);
    });
  }

  /** Empty the app's database after the daemon kept a copy; asks first, in a modal. */
  async resetPreviewData(): Promise<void> {
    await this.guarded(async () => {
      const status = await this.services.rpc().request("stepforge/preview/status", {});
      const where = status.data ? ` in ${status.data.location}` : "";
      const choice = await vscode.window.showWarningMessage(
        `StepForge: delete every record of the app${where}?`,
        {
          modal: true,
          detail:
            "StepForge keeps a copy first" +
            (status.data ? ` (in ${status.data.backups})` : "") +
            "; a running preview restarts with an empty, freshly seeded database.",
        },
        "Reset Data",
      );
      if (choice !== "Reset Data") {
        return;
      }
      const result = await withDaemonProgress("StepForge: resetting the app's data", (options) =>
        this.services.rpc().request("stepforge/preview/resetData", {}, options),
      );
      void vscode.window.showInformationMessage(`StepForge: ${result.message}`);
    });
  }

  async openPreview(): Promise<void> {
    await this.guarded(async () => {
      const status = await this.services.rpc().request("stepforge/preview/status", {});
      if (!status.running || !status.frontendUrl) {
        const choice = await vscode.window.showInformationMessage("StepForge: no preview is running.", "Start Preview");
        if (choice === "Start Preview") {
          await this.startPreview();
        }
        return;
      }
      this.services.statusBar.show(status.frontendUrl, status.backendUrl ?? "", status.runtime ?? "");
      // In a remote window (code-server, SSH) 127.0.0.1 is the remote machine: VS Code maps it to
      // an address this browser reaches (a forwarded port, a proxy path).
      const external = await vscode.env.asExternalUri(vscode.Uri.parse(status.frontendUrl));
      await vscode.commands.executeCommand("simpleBrowser.show", external.toString());
    });
  }

  async showPlan(): Promise<void> {
    await this.guarded(async () => {
      const plan = vscode.Uri.joinPath(this.services.root() as vscode.Uri, ".stepforge", "plan.json");
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(plan));
    });
  }

  async showScreenshots(): Promise<void> {
    await this.guarded(async () => {
      await showScreenshots(this.services.root() as vscode.Uri);
    });
  }

  async showStatus(): Promise<void> {
    await this.guarded(async () => {
      const status: StatusResult = await this.services.rpc().request("stepforge/status", {});
      if (!status.planPresent) {
        void vscode.window.showInformationMessage("StepForge: no plan yet. Run “StepForge: Plan Project”.");
        return;
      }
      const counts = Object.entries(status.counts ?? {})
        .filter(([, n]) => n > 0) // every state is counted, most are 0
        .map(([state, n]) => `${n} ${state}`)
        .join(", ");
      const usage = status.usage;
      const picked = await vscode.window.showQuickPick(
        (status.files ?? []).map((f) => ({ label: f.path, description: f.state, detail: f.reason ?? undefined })),
        {
          title: `${status.projectName ?? "StepForge"}: ${counts}; ${usage?.promptTokens ?? 0} prompt + ${usage?.completionTokens ?? 0} completion tokens`,
          placeHolder: status.planError ? `plan.json has problems: ${status.planError}` : "Open a file",
        },
      );
      if (picked) {
        await vscode.window.showTextDocument(vscode.Uri.joinPath(this.services.root() as vscode.Uri, picked.label));
      }
    });
  }

  async setApiKey(): Promise<void> {
    const key = await vscode.window.showInputBox({
      title: "StepForge: Set API Key",
      prompt: "Your Groq API key (stored in the editor's secret storage, never in settings)",
      password: true,
      ignoreFocusOut: true,
    });
    if (key === undefined) {
      return;
    }
    if (key.trim()) {
      await this.services.secrets.store(API_KEY_SECRET, key.trim());
    } else {
      await this.services.secrets.delete(API_KEY_SECRET);
    }
    await this.services.restartDaemon();
    void vscode.window.showInformationMessage(key.trim() ? "StepForge: API key saved." : "StepForge: API key removed.");
    await this.refreshFiles();
  }

  /** Re-read the plan's steps and every file's state. */
  async refreshFiles(): Promise<void> {
    const root = this.services.root();
    if (!root) {
      return;
    }
    try {
      const data = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(root, ".stepforge", "plan.json"));
      this.services.files.model.setPlan(JSON.parse(Buffer.from(data).toString("utf8")));
    } catch {
      this.services.files.model.setPlan(undefined); // no plan (yet), or a broken one
    }
    try {
      this.services.files.model.applyStatus(await this.services.rpc().request("stepforge/status", {}));
    } catch {
      // The daemon is (re)starting: the next refresh fills the states in.
    }
    this.services.files.refresh();
  }
}

interface DeltaLike {
  summary?: string;
  add_files?: { path: string; purpose?: string }[];
  modify_files?: { path: string; change: string }[];
  remove_files?: string[];
  add_routes?: { path: string; label?: string }[];
  add_api_endpoints?: { method: string; path: string }[];
}

/** "3 added, 2 modified, 1 removed" and the delta's own summary. */
export function deltaSummary(delta: DeltaLike): string {
  const counts = [
    `${delta.add_files?.length ?? 0} added`,
    `${delta.modify_files?.length ?? 0} modified`,
    `${delta.remove_files?.length ?? 0} removed`,
  ].join(", ");
  return `${delta.summary ?? ""} (${counts})`.trim();
}

/** The files of a delta, one per line, for the confirmation. */
export function deltaDetail(delta: DeltaLike): string {
  return [
    ...(delta.add_files ?? []).map((f) => `+ ${f.path}${f.purpose ? `: ${f.purpose}` : ""}`),
    ...(delta.modify_files ?? []).map((f) => `~ ${f.path}: ${f.change}`),
    ...(delta.remove_files ?? []).map((p) => `- ${p}`),
    ...(delta.add_routes ?? []).map((r) => `route ${r.path}${r.label ? ` (${r.label})` : ""}`),
    ...(delta.add_api_endpoints ?? []).map((e) => `api ${e.method} ${e.path}`),
  ].join("\n");
}
