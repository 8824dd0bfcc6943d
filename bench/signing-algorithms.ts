/**
 * What TOKENWARDEN_SIGNING_ALG costs: EdDSA (Ed25519) against ES256 (P-256) for signing, a
 * token's first verify, the bearer check in process, and `GET /api/v1/users/me` over HTTP
 * with a token the server has not seen on every request.
 *
 *   npx tsx bench/signing-algorithms.ts [--quick] [--no-write]
 */
import { machine, parseFlags, table, writeSection } from './support/env.js';
import {
  SIGNING_ALGORITHM_HEADER,
  SIGNING_ALGORITHM_HTTP_HEADER,
  signingAlgorithms,
} from './support/signing-algorithm-measure.js';

/** The section's markdown: the machine, the in-process table, the HTTP table. */
export async function signingAlgorithmSection(quick: boolean): Promise<string> {
  const machineLine = await machine();
  const { inProcess, http } = await signingAlgorithms(quick);
  return [
    `${machineLine}. Each algorithm's server on PGlite in this process (one core's worth of work at a time: the two cores are shared with the load generator and other work), figures alternated between the algorithms in 4 rounds; "per second (one loop)" is tokens over the wall time of one sequential loop.`,
    table(SIGNING_ALGORITHM_HEADER, inProcess),
    `\`GET /api/v1/users/me\` under autocannon (in the same process as the server), every request with a token the server has not seen, signed by another instance over the same key, the algorithms alternated in 3 rounds of ${quick ? 1 : 5} s:`,
    table(SIGNING_ALGORITHM_HTTP_HEADER, http),
  ].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const flags = parseFlags(process.argv);
  const body = await signingAlgorithmSection(flags.quick);
  const title = `### EdDSA and ES256, ${flags.quick ? 'quick run' : 'full run'}`;
  console.log(`${title}\n\n${body}`);
  if (flags.write) await writeSection(`signing-alg${flags.quick ? '-quick' : ''}`, `${title}\n\n${body}`);
}
