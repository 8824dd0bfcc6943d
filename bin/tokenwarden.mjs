#!/usr/bin/env node
// The `tokenwarden` CLI runs from the TypeScript source through tsx, so `npm install`
// is all it needs (no build step), the same as `npm start`.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../tsconfig.json', import.meta.url)) });
const { main } = await import('../src/cli/main.ts');
await main();
