// The daemon's work-done progress as a notification with a working Cancel button: the request
// carries our own token, and cancelling sends $/cancelRequest through the request's token.
import * as vscode from "vscode";
import type { RequestOptions, WorkDoneProgressValue } from "./rpc";

export function withDaemonProgress<T>(title: string, work: (options: RequestOptions) => Promise<T>): Thenable<T> {
  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (progress, token) => {
      let reached = 0;
      const onProgress = (value: WorkDoneProgressValue): void => {
        if (value.kind === "end") {
          return;
        }
        let increment: number | undefined;
        if (value.percentage !== undefined && value.percentage > reached) {
          increment = value.percentage - reached;
          reached = value.percentage;
        }
        progress.report({ message: value.message ?? value.title, increment });
      };
      return work({ onProgress, token });
    },
  );
}
