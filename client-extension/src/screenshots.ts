// The pictures `stepforge check --runtime` takes of every planned route, in
// .stepforge/screenshots/<route>.png: listed by route, opened in VS Code's image preview.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import * as vscode from "vscode";

export const SCREENSHOTS_DIR = join(".stepforge", "screenshots");

/** The route a picture shows, as its name spells it: `tasks.png` is /tasks, `index.png` is /. */
export function routeOfPicture(name: string): string {
  const stem = name.replace(/\.png$/, "");
  return stem === "index" ? "/" : `/${stem}`;
}

/** The pictures of the last runtime check, by file name ([] when there are none). */
export function screenshotNames(root: string): string[] {
  try {
    return readdirSync(join(root, SCREENSHOTS_DIR))
      .filter((name) => name.endsWith(".png"))
      .sort();
  } catch {
    return [];
  }
}

/** Open one picture (or the one the user picks); true when there was something to show. */
export async function showScreenshots(root: vscode.Uri): Promise<boolean> {
  const names = screenshotNames(root.fsPath);
  if (names.length === 0) {
    void vscode.window.showInformationMessage(
      "StepForge: no screenshots yet. They are taken when the running app is checked: run `stepforge check --runtime`.",
    );
    return false;
  }
  const picked =
    names.length === 1
      ? names[0]
      : (
          await vscode.window.showQuickPick(
            names.map((name) => ({ label: routeOfPicture(name), description: name, name })),
            { title: "StepForge: the app's pages as the last runtime check saw them" },
          )
        )?.name;
  if (!picked) {
    return true; // Escape
  }
  const picture = vscode.Uri.joinPath(root, ".stepforge", "screenshots", picked);
  await vscode.commands.executeCommand("vscode.open", picture);
  return true;
}
