// Builds dist/ (minified IIFE bundles) and copies them into the theme app extension's assets.
// Fails when the tracker is over its size budget: 4 KB gzipped.
import { build } from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUNDLES = [
  ["src/tracker.js", "clickstream.js", 4096],
  ["src/widgets.js", "clickstream-widgets.js", 8192],
  ["src/notifications.js", "clickstream-notify.js", 8192],
];
const THEME_ASSETS = "../extensions/clickstream-theme/assets";
mkdirSync("dist", { recursive: true });
mkdirSync(THEME_ASSETS, { recursive: true });
let failed = false;
for (const [entry, out, budget] of BUNDLES) {
  if (!existsSync(entry)) continue;
  await build({ entryPoints: [entry], outfile: `dist/${out}`, bundle: true, minify: true, format: "iife", target: "es2019", legalComments: "none" });
  const size = gzipSync(readFileSync(`dist/${out}`)).length;
  const ok = size <= budget;
  console.log(`${out}: ${size} bytes gzipped (budget ${budget})${ok ? "" : "  OVER BUDGET"}`);
  failed ||= !ok;
  copyFileSync(`dist/${out}`, `${THEME_ASSETS}/${out}`);
}
if (failed) process.exit(1);
