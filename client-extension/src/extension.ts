// StepForge in VS Code: the daemon over stdio, commands in the palette, a live tree of the plan's
// files with a tally, the preview in the status bar, problems in the Problems panel.
import * as vscode from "vscode";
import type { LanguageClient } from "vscode-languageclient/node";
import { createClient } from "./client";
import { COMMANDS } from "./commandIds";
import { StepForgeCommands } from "./commands";
import { StepForgeRpc } from "./rpc";
import { API_KEY_SECRET, initializationOptions, serverCommand, startFailure } from "./settings";
import { PreviewStatusBar } from "./statusBar";
import { FilesView } from "./tree";
import { FileTreeModel } from "./treeModel";

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const activated = Date.now();
  const output = vscode.window.createOutputChannel("StepForge", { log: true });
  const root = (): vscode.Uri | undefined => vscode.workspace.workspaceFolders?.[0]?.uri;
  const files = new FilesView(new FileTreeModel(), root);
  const statusBar = new PreviewStatusBar();
  let rpc: StepForgeRpc | undefined;
  let listeners: vscode.Disposable[] = [];
  let launchedWith = "";

  async function launchKey(): Promise<string> {
    const config = vscode.workspace.getConfiguration("stepforge");
    const apiKey = await context.secrets.get(API_KEY_SECRET);
    return JSON.stringify([serverCommand(config), initializationOptions(config, apiKey)]);
  }

  async function startDaemon(): Promise<void> {
    const apiKey = await context.secrets.get(API_KEY_SECRET);
    launchedWith = await launchKey();
    const daemon = createClient(output, apiKey);
    client = daemon.client;
    try {
      await client.start();
    } catch (error) {
      client = undefined;
      rpc = undefined;
      const message = startFailure(error, daemon.command);
      output.error(message);
      void vscode.window.showErrorMessage(message, "Open Settings", "Show Output").then((choice) => {
        if (choice === "Open Settings") {
          void vscode.commands.executeCommand("workbench.action.openSettings", "stepforge.serverCommand");
        } else if (choice === "Show Output") {
          output.show();
        }
      });
      await vscode.commands.executeCommand("setContext", "stepforge.active", false);
      throw error;
    }
    rpc = new StepForgeRpc(client);
    listeners.forEach((listener) => listener.dispose());
    listeners = [
      rpc.onFileStatus((status) => {
        files.model.update(status.path, status.state, status.reason);
        files.refresh(); // the tally in the view's title follows every file
      }),
      rpc.onPreviewLog((log) => output.appendLine(`[preview ${log.role}] ${log.line}`)),
    ];
    await vscode.commands.executeCommand("setContext", "stepforge.active", true);
  }

  async function restartDaemon(): Promise<void> {
    await client?.stop().catch(() => undefined);
    await startDaemon().catch(() => undefined);
    await commands.refreshFiles();
  }

  const commands = new StepForgeCommands({
    rpc: () => {
      if (!rpc) {
        throw new Error("the daemon is not running: see the StepForge output, then run “StepForge: Restart the Daemon”.");
      }
      return rpc;
    },
    root,
    files,
    statusBar,
    secrets: context.secrets,
    restartDaemon,
    showOutput: () => output.show(),
    log: (message) => output.info(message),
  });
  commands.register(context);
  const view = vscode.window.createTreeView("stepforge.files", { treeDataProvider: files });
  files.attach(view);
  context.subscriptions.push(output, statusBar, view, { dispose: () => listeners.forEach((l) => l.dispose()) });
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      // Restart only when what the daemon is started with changes: machine settings are read
      // from user settings only, so a folder's value for them changes nothing.
      if (event.affectsConfiguration("stepforge") && (await launchKey()) !== launchedWith) {
        await restartDaemon();
      }
    }),
  );

  try {
    await startDaemon();
  } catch {
    return; // the notification says what to do
  }
  output.info(`StepForge daemon ready ${Date.now() - activated} ms after activation`);
  await commands.refreshFiles();
  const preview = await rpc?.request("stepforge/preview/status", {}).catch(() => undefined);
  if (preview?.running && preview.frontendUrl) {
    statusBar.show(preview.frontendUrl, preview.backendUrl ?? "", preview.runtime ?? "");
  }
}

export async function deactivate(): Promise<void> {
  // Stopping the client shuts the session down: the daemon stops the previews it started.
  await client?.stop();
}

export { COMMANDS };
