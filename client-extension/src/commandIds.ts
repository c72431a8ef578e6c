// The extension's own commands. The daemon advertises a command per request (`stepforge.plan`,
// `stepforge.regenerateFile`, ...) and vscode-languageclient registers each with VS Code: an
// extension command of the same id makes the client give up connecting. So every id here lives
// under `stepforge.ui.`, which the daemon never uses (a test compares both lists).
export const COMMANDS = {
  planProject: "stepforge.ui.planProject",
  generateProject: "stepforge.ui.generateProject",
  changeApp: "stepforge.ui.changeApp",
  undoChange: "stepforge.ui.undoChange",
  showChange: "stepforge.ui.showChange",
  checkProject: "stepforge.ui.checkProject",
  regenerateFile: "stepforge.ui.regenerateFile",
  resolveConflict: "stepforge.ui.resolveConflict",
  startPreview: "stepforge.ui.startPreview",
  stopPreview: "stepforge.ui.stopPreview",
  openPreview: "stepforge.ui.openPreview",
  resetPreviewData: "stepforge.ui.resetPreviewData",
  showPlan: "stepforge.ui.showPlan",
  showScreenshots: "stepforge.ui.showScreenshots",
  showStatus: "stepforge.ui.showStatus",
  setApiKey: "stepforge.ui.setApiKey",
  refreshFiles: "stepforge.ui.refreshFiles",
  showOutput: "stepforge.ui.showOutput",
  restartDaemon: "stepforge.ui.restartDaemon",
} as const;

export type CommandId = (typeof COMMANDS)[keyof typeof COMMANDS];

/** The daemon's command for a request method, as it advertises it. */
export const DAEMON_REGENERATE_FILE = "stepforge.regenerateFile";
