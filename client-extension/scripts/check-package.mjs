// The .vsix holds only the bundle, the manifest, the README, the license and the walkthrough's
// pages: no sources, no settings, no keys. Fails when anything else would be packaged or the bundle holds a key.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

const allowed = new Set([
  "dist/extension.js",
  "package.json",
  "README.md",
  "LICENSE",
  "media/walkthrough/api-key.md",
  "media/walkthrough/plan.md",
  "media/walkthrough/generate.md",
  "media/walkthrough/preview.md",
]);
const listed = execFileSync("npx", ["vsce", "ls", "--no-dependencies"], { encoding: "utf8" })
  .split("\n")
  .map((line) => line.trim())
  .filter(Boolean);
const unexpected = listed.filter((file) => !allowed.has(file));
if (unexpected.length) {
  console.error(`the package would include: ${unexpected.join(", ")}`);
  process.exit(1);
}
const bundle = readFileSync("dist/extension.js", "utf8");
if (/gsk_[A-Za-z0-9]{20,}/.test(bundle)) {
  console.error("the bundle holds something that looks like a Groq API key");
  process.exit(1);
}
console.log(`package contents ok: ${listed.join(", ")}`);
