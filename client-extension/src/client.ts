// The language client that runs the daemon over stdio, restarted on crash with a visible message.
import * as vscode from "vscode";
import {
  CloseAction,
  ErrorAction,
  type CloseHandlerResult,
  type ErrorHandlerResult,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
} from "vscode-languageclient/node";
import { DAEMON_REGENERATE_FILE } from "./commandIds";
import { initializationOptions, type ServerCommand, serverCommand } from "./settings";

const MAX_RESTARTS = 5;
// The files StepForge writes: its diagnostics' quick fixes are asked for by VS Code only for
// documents the client's selector covers.
const LANGUAGES = ["typescript", "typescriptreact", "javascript", "javascriptreact", "python"];

export interface Daemon {
  client: LanguageClient;
  command: ServerCommand;
}

export function createClient(output: vscode.LogOutputChannel, apiKey: string | undefined): Daemon {
  const config = vscode.workspace.getConfiguration("stepforge");
  const command = serverCommand(config);
  const serverOptions: ServerOptions = { command: command.command, args: command.args, options: { env: process.env } };
  let restarts = 0;
  const clientOptions: LanguageClientOptions = {
    outputChannel: output,
    documentSelector: LANGUAGES.map((language) => ({ scheme: "file", language })),
    initializationOptions: initializationOptions(config, apiKey),
    middleware: {
      // The quick fix runs the daemon's own command: say what it did.
      executeCommand: async (name, args, next) => {
        const result = await next(name, args);
        if (name === DAEMON_REGENERATE_FILE && result && typeof result.message === "string") {
          void vscode.window.showInformationMessage(`StepForge: ${result.message}`);
        }
        return result;
      },
    },
    errorHandler: {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
      closed: (): CloseHandlerResult => {
        restarts += 1;
        if (restarts <= MAX_RESTARTS) {
          // The client logs a restart only to the output channel: say it where the user looks.
          void vscode.window
            .showWarningMessage("The StepForge daemon stopped; restarting it.", "Show Output")
            .then((choice) => choice && output.show());
          return { action: CloseAction.Restart, message: "The StepForge daemon stopped; restarting it.", handled: true };
        }
        return {
          action: CloseAction.DoNotRestart,
          message: "The StepForge daemon keeps stopping: see the StepForge output, then run “StepForge: Restart the Daemon”.",
        };
      },
    },
  };
  return { client: new LanguageClient("stepforge", "StepForge", serverOptions, clientOptions), command };
}
