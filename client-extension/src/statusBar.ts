// A status bar item with the preview's URLs; a click opens the preview.
import * as vscode from "vscode";
import { COMMANDS } from "./commandIds";

export class PreviewStatusBar {
  readonly item: vscode.StatusBarItem;
  frontendUrl: string | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
    this.item.command = COMMANDS.openPreview;
  }

  show(frontendUrl: string, backendUrl: string, runtime: string): void {
    this.frontendUrl = frontendUrl;
    this.item.text = `$(globe) ${frontendUrl.replace("http://", "")} · API ${backendUrl.replace("http://", "")}`;
    this.item.tooltip = `StepForge preview (${runtime}): click to open ${frontendUrl}`;
    this.item.show();
  }

  hide(): void {
    this.frontendUrl = undefined;
    this.item.hide();
  }

  dispose(): void {
    this.item.dispose();
  }
}
