// Loaded with `node --require`: `require("vscode")` returns the stub.
import Module from "node:module";

const moduleWithLoad = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown };
const load = moduleWithLoad._load;
moduleWithLoad._load = function (request: string, ...rest: unknown[]) {
  if (request === "vscode") {
    return load.call(this, require.resolve("./vscode-stub"), ...rest);
  }
  return load.call(this, request, ...rest);
};
