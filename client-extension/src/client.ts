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
import { initializationOptions, serverCommand } from "./settings";

const MAX_RESTARTS = 5;

export function createClient(output: vscode.LogOutputChannel, apiKey: string | undefined): LanguageClient {
  const config = vscode.workspace.getConfiguration("stepforge");
  const { command, args } = serverCommand(config);
  const serverOptions: ServerOptions = { command, args, options: { env: process.env } };
  let restarts = 0;
  const clientOptions: LanguageClientOptions = {
    outputChannel: output,
    initializationOptions: initializationOptions(config, apiKey),
    errorHandler: {
      error: (): ErrorHandlerResult => ({ action: ErrorAction.Continue }),
      closed: (): CloseHandlerResult => {
        restarts += 1;
        if (restarts <= MAX_RESTARTS) {
          return { action: CloseAction.Restart, message: "The StepForge daemon stopped; restarting it." };
        }
        return {
          action: CloseAction.DoNotRestart,
          message: "The StepForge daemon keeps stopping: see the StepForge output, then run “Developer: Reload Window”.",
        };
      },
    },
  };
  return new LanguageClient("stepforge", "StepForge", serverOptions, clientOptions);
}
