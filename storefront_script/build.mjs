// Builds the storefront scripts (minified IIFE bundles) into dist/, which the demo store serves.
// Fails when a bundle is over its size budget (the tracker: 4 KB gzipped).
//
// The theme app extension ships the same bundles from extensions/clickstream-theme/assets/, which
// are committed so that a deploy from a fresh clone has them:
//   node build.mjs --theme   also writes them there (`make theme-assets`; commit the result)
//   node build.mjs --check   fails if the committed ones differ from a build of src/ (a test runs it)
import { build } from "esbuild";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUNDLES = [
  ["src/tracker.js", "clickstream.js", 4096],
  ["src/widgets.js", "clickstream-widgets.js", 8192],
  ["src/notifications.js", "clickstream-notify.js", 8192],
];
const THEME_ASSETS = "../extensions/clickstream-theme/assets";
const mode = process.argv[2] || "";
if (!["", "--theme", "--check"].includes(mode)) {
  console.error(`usage: node build.mjs [--theme | --check]`);
  process.exit(2);
}
let failed = false;
const stale = [];
for (const [entry, out, budget] of BUNDLES) {
  const result = await build({
    entryPoints: [entry], bundle: true, minify: true, format: "iife", target: "es2019",
    legalComments: "none", write: false, outfile: `dist/${out}`,
  });
  const code = result.outputFiles[0].contents;
  const theme = `${THEME_ASSETS}/${out}`;
  if (mode === "--check") {
    if (!existsSync(theme) || !Buffer.from(code).equals(readFileSync(theme))) stale.push(theme);
    continue;
  }
  const size = gzipSync(code).length;
  const ok = size <= budget;
  console.log(`${out}: ${size} bytes gzipped (budget ${budget})${ok ? "" : "  OVER BUDGET"}`);
  failed ||= !ok;
  mkdirSync("dist", { recursive: true });
  writeFileSync(`dist/${out}`, code);
  if (mode === "--theme") {
    mkdirSync(THEME_ASSETS, { recursive: true });
    writeFileSync(theme, code);
  }
}
if (stale.length) {
  console.error(`not built from src/ as it is now: ${stale.join(", ")}\nrun \`make theme-assets\` and commit them`);
  process.exit(1);
}
if (mode === "--check") console.log("the theme's assets match src/");
if (failed) process.exit(1);
