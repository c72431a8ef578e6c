// StepForge in VS Code: the daemon over stdio, commands in the palette, a live tree of the plan's
// files, the preview in the status bar.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { createClient } from "./client";
import { StepForgeCommands } from "./commands";
import { StepForgeRpc } from "./rpc";
import { API_KEY_SECRET } from "./settings";
import { PreviewStatusBar } from "./statusBar";
import { FilesView } from "./tree";
import { FileTreeModel } from "./treeModel";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel("StepForge", { log: true });
  const root = (): vscode.Uri | undefined => vscode.workspace.workspaceFolders?.[0]?.uri;
  const files = new FilesView(new FileTreeModel(), root);
  const statusBar = new PreviewStatusBar();
  let rpc: StepForgeRpc | undefined;

  async function startDaemon(): Promise<void> {
    const apiKey = await context.secrets.get(API_KEY_SECRET);
    client = createClient(output, apiKey);
    await client.start();
    rpc = new StepForgeRpc(client);
    context.subscriptions.push(
      rpc.onFileStatus((status) => {
        files.model.update(status.path, status.state, status.reason);
        files.refresh();
      }),
      rpc.onPreviewLog((log) => output.appendLine(`[preview ${log.role}] ${log.line}`)),
    );
    await vscode.commands.executeCommand("setContext", "stepforge.active", true);
  }

  const commands = new StepForgeCommands({
    rpc: () => {
      if (!rpc) {
        throw new Error("the daemon is not running: see the StepForge output.");
      }
      return rpc;
    },
    root,
    files,
    statusBar,
    secrets: context.secrets,
    restartDaemon: async () => {
      await client?.stop();
      await startDaemon();
    },
  });
  commands.register(context);
  const view = vscode.window.createTreeView("stepforge.files", { treeDataProvider: files });
  context.subscriptions.push(output, statusBar, view);
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration("stepforge")) {
        await client?.stop();
        await startDaemon();
      }
    }),
  );

  try {
    await startDaemon();
  } catch (error) {
    void vscode.window.showErrorMessage(
      `StepForge: the daemon did not start (${error instanceof Error ? error.message : error}). ` +
        "Install StepForge (scripts/setup in its repository) or set stepforge.serverCommand.",
    );
    return;
  }
  await commands.refreshFiles();
  view.description = files.model.summary();
  const preview = await rpc?.request("stepforge/preview/status", {}).catch(() => undefined);
  if (preview?.running && preview.frontendUrl) {
    statusBar.show(preview.frontendUrl, preview.backendUrl ?? "", preview.runtime ?? "");
  }
}

export async function deactivate(): Promise<void> {
  // Stopping the client shuts the session down: the daemon stops the previews it started.
  await client?.stop();
}
