// The "StepForge Files" view: the plan's files grouped by step, with their states.
import * as vscode from "vscode";
import { type FileNode, type FileTreeModel, type Node, STATE_ICONS } from "./treeModel";

export class FilesView implements vscode.TreeDataProvider<Node> {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private view: { description?: string } | undefined;
  private hadPlan: boolean | undefined;

  constructor(
    readonly model: FileTreeModel,
    private readonly root: () => vscode.Uri | undefined,
  ) {}

  /** The tree view whose description shows the live tally ("11/24 done"). */
  attach(view: { description?: string }): void {
    this.view = view;
    this.refresh();
  }

  /** Redraw the tree and its tally; the welcome view shows while there is no plan. */
  refresh(): void {
    this.changed.fire(undefined);
    const hasPlan = this.model.roots().length > 0;
    if (this.view) {
      this.view.description = hasPlan ? this.model.summary() : undefined;
    }
    if (hasPlan !== this.hadPlan) {
      this.hadPlan = hasPlan;
      void vscode.commands.executeCommand("setContext", "stepforge.hasPlan", hasPlan);
    }
  }

  getChildren(node?: Node): Node[] {
    if (node === undefined) {
      return this.model.roots();
    }
    return node.kind === "step" ? this.model.children(node) : [];
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === "step") {
      const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Expanded);
      item.contextValue = "step";
      return item;
    }
    return this.fileItem(node);
  }

  private fileItem(node: FileNode): vscode.TreeItem {
    const name = node.path.split("/").pop() ?? node.path;
    const item = new vscode.TreeItem(name, vscode.TreeItemCollapsibleState.None);
    const look = STATE_ICONS[node.state];
    item.iconPath = new vscode.ThemeIcon(look.icon, look.color ? new vscode.ThemeColor(look.color) : undefined);
    item.description = node.state;
    item.tooltip = `${node.path}: ${node.state}${node.reason ? ` (${node.reason})` : ""}`;
    item.contextValue = `file.${node.state}`;
    const root = this.root();
    if (root) {
      const uri = vscode.Uri.joinPath(root, node.path);
      item.resourceUri = uri;
      item.command = { command: "vscode.open", title: "Open", arguments: [uri] };
    }
    return item;
  }
}
