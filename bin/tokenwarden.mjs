#!/usr/bin/env node
// The `tokenwarden` CLI runs the build in dist/ (`npm install` runs `npm run build` through
// `prepare`), plain node with no compiler at run time. A checkout without dist/ falls back
// to the TypeScript source through tsx, a dev dependency.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli/main.js', import.meta.url);
let cli;
if (existsSync(fileURLToPath(built))) {
  cli = await import(built.href);
} else {
  let register;
  try {
    ({ register } = await import('tsx/esm/api'));
  } catch {
    process.stderr.write('tokenwarden: dist/ is missing and tsx is not installed: run `npm run build`\n');
    process.exit(1);
  }
  register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
  cli = await import('../src/cli/main.ts');
}
await cli.main();
