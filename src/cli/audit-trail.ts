import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { AnchorCheck, StoredCheckpointCheck } from '../application/queries/audit-trail/query.js';
import { breakPlace, type ChainPoint, type ChainVerdict, verifyChain } from '../domain/audit-chain.js';
import { checkpointKeys, checkpointsInText, verifyCheckpoint } from '../domain/audit-checkpoint.js';
import {
  AUDIT_EXPORT_FORMAT,
  type AuditExportHeader,
  auditExportLine,
  parseAuditExport,
} from '../domain/audit-export.js';
import { type CommonOptions, jsonOption, outputFor } from './command-kit.js';
import { type CliIo, withCore } from './context.js';
import { CliError, EXIT_FAILURE, usageError } from './errors.js';

interface ExportOptions {
  readonly output?: string;
}

interface VerifyOptions extends CommonOptions {
  readonly from?: string;
  readonly stored?: boolean;
  readonly checkpoints?: string;
  readonly publicKey?: string;
}

/** A checkpoint of the file that was not believed, and why. */
interface RefusedCheckpoint {
  readonly line: number;
  readonly reason: string;
}

/**
 * `tokenwarden audit export` (the chained trail as JSON Lines) and `tokenwarden audit verify`
 * (the chain checked, from the database or an export, offline): docs/AUDIT.md.
 */
export function registerAuditTrail(audit: Command, io: CliIo): void {
  audit
    .command('export')
    .description(
      'write the whole audit trail with its hashes as JSON Lines (a header line, then one row a line)',
    )
    .option('--output <file>', 'write to this file (created; refused if it exists) instead of stdout')
    .action((options: ExportOptions) =>
      withCore(io, async (core) => {
        const sink = options.output === undefined ? io.stdout : await newFile(options.output);
        const state = await core.services.auditTrail.state();
        const { anchor, checkpoints } = await core.services.auditTrail.signedPoints(state.head.seq);
        const header: AuditExportHeader = {
          format: AUDIT_EXPORT_FORMAT,
          exportedAt: new Date().toISOString(),
          head: state.head,
          upgradeSeq: state.upgradeSeq,
          ...(anchor === null ? {} : { anchor }),
          ...(checkpoints.length === 0 ? {} : { checkpoints }),
        };
        await write(sink, `${JSON.stringify(header)}\n`);
        let rows = 0;
        // Rows chained after the head was read are left for the next export: the file ends at its header's head.
        for await (const row of core.services.auditTrail.rows()) {
          if (row.seq > state.head.seq) break;
          await write(sink, `${auditExportLine(row)}\n`);
          rows += 1;
        }
        if (sink !== io.stdout) {
          sink.end();
          await once(sink, 'finish');
          io.stderr.write(`Exported ${rows} audit rows (up to seq ${state.head.seq}) to ${options.output}\n`);
        }
      }),
    );

  audit
    .command('keys')
    .description(
      'print the public key that signs audit checkpoints, as a JWK Set (what --public-key takes; also served at /.well-known/tokenwarden-audit-keys.json)',
    )
    .action(() =>
      withCore(io, async (core) => {
        io.stdout.write(`${JSON.stringify(await core.auditKeys.publicJwks(), null, 2)}\n`);
      }),
    );

  jsonOption(
    audit
      .command('verify')
      .description(
        'check the audit hash chain (from the database, or offline from an export with --from): exit 0 intact, 1 broken (the first bad row is named) or a checkpoint refused, 2 unreadable input',
      )
      .option(
        '--from <file>',
        'verify this export (tokenwarden audit export) instead of the database; needs no database',
      )
      .option(
        '--checkpoints <file>',
        'signed checkpoints collected outside the database (log lines, webhook bodies, or one JWS a line); needs --public-key',
      )
      .option('--public-key <file>', 'the checkpoint public key: a JWK, or a JWKS holding it')
      .option(
        '--stored',
        'also check against the checkpoints the server stored in the database (each signature checked again)',
      ),
  ).action(async (options: VerifyOptions) => {
    const out = outputFor(io, options);
    if (options.stored === true && options.from !== undefined) {
      throw usageError('--stored reads the database: it does not go with --from');
    }
    const { points, refused, keys } = await readCheckpoints(options);
    const { verdict, upgradeSeq, source, stored, anchor, pending } =
      options.from === undefined
        ? await withCore(io, async (core) => {
            const { state, verdict, stored, anchor, pending } = await core.services.auditTrail.verify(
              points,
              {
                stored: options.stored === true,
              },
            );
            return { verdict, upgradeSeq: state.upgradeSeq, source: 'database', stored, anchor, pending };
          })
        : { ...(await verifyExport(options.from, points, keys)), pending: null };
    out.result(
      {
        source,
        ...verdict,
        upgradeSeq,
        checkpoints: points.length,
        refusedCheckpoints: refused,
        ...(stored === null ? {} : { storedCheckpoints: stored }),
        anchor,
        ...(pending === null ? {} : { pending }),
      },
      () =>
        [
          ...(anchor === null
            ? []
            : [
                anchor.refused === null
                  ? `Rows up to seq ${anchor.seq} were pruned (retention); the trail starts after the signed anchor there.`
                  : `Pruning anchor at seq ${anchor.seq} REFUSED: ${anchor.refused}.`,
              ]),
          report(verdict, upgradeSeq, Math.max(0, ...points.map((p) => p.seq))),
          ...(pending === null || pending.count === 0
            ? []
            : [
                `${pending.count} row(s) written and not chained yet (the oldest ${Math.round(pending.oldestAgeSeconds ?? 0)} s old): not covered by this verdict; one pending over ${pending.boundSeconds} s is a break.`,
              ]),
          ...(stored === null
            ? []
            : [
                stored.lastSeq === null
                  ? 'No stored checkpoint.'
                  : `${stored.accepted} stored checkpoint(s) match the trail, the newest at seq ${stored.lastSeq}: they are in the database, so they prove nothing against someone who could write it and holds the checkpoint key; compare them with copies kept outside (--checkpoints).`,
                ...stored.refused.map((r) => `Stored checkpoint at seq ${r.seq} REFUSED: ${r.reason}.`),
              ]),
          ...refused.map(
            (r) => `Checkpoint on line ${r.line} of ${options.checkpoints} REFUSED: ${r.reason}.`,
          ),
        ].join('\n'),
    );
    if (verdict.break !== null) {
      const b = verdict.break;
      throw new CliError(`audit trail broken at ${breakPlace(b)}: ${b.kind}`, EXIT_FAILURE);
    }
    if (anchor !== null && anchor.refused !== null) {
      throw new CliError(`pruning anchor at seq ${anchor.seq} refused: ${anchor.refused}`, EXIT_FAILURE);
    }
    const [firstStored] = stored?.refused ?? [];
    if (firstStored !== undefined) {
      throw new CliError(
        `${stored?.refused.length} stored checkpoint(s) refused, the first at seq ${firstStored.seq}: ${firstStored.reason}`,
        EXIT_FAILURE,
      );
    }
    const [first] = refused;
    if (first !== undefined) {
      throw new CliError(
        `${refused.length} checkpoint(s) refused, the first on line ${first.line}: ${first.reason}`,
        EXIT_FAILURE,
      );
    }
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** The checkpoints of `--checkpoints` whose signature holds under `--public-key`, and those refused. */
async function readCheckpoints(options: VerifyOptions): Promise<{
  points: ChainPoint[];
  refused: RefusedCheckpoint[];
  keys: ReturnType<typeof checkpointKeys> | null;
}> {
  if (options.checkpoints === undefined && options.publicKey === undefined)
    return { points: [], refused: [], keys: null };
  if (options.publicKey === undefined) {
    throw usageError('--checkpoints needs --public-key');
  }
  const keyText = await readText(options.publicKey);
  let keys: ReturnType<typeof checkpointKeys>;
  try {
    keys = checkpointKeys(JSON.parse(keyText));
  } catch {
    throw usageError(`${options.publicKey}: not a JWK or JWKS`);
  }
  if (keys.size === 0) throw usageError(`${options.publicKey}: no Ed25519 checkpoint key in it`);
  const points: ChainPoint[] = [];
  const refused: RefusedCheckpoint[] = [];
  if (options.checkpoints === undefined) return { points, refused, keys };
  for (const { line, jws } of checkpointsInText(await readText(options.checkpoints))) {
    const check = verifyCheckpoint(jws, keys);
    if (check.ok) points.push({ seq: check.checkpoint.seq, hash: check.checkpoint.hash });
    else refused.push({ line, reason: check.reason });
  }
  return { points, refused, keys };
}

/**
 * An export checked offline. Its anchor and stored checkpoints are signed: with
 * `--public-key` each is checked (one refused makes the verdict fail); without it the anchor
 * is taken as the start unchecked, and the checkpoints are not used.
 */
async function verifyExport(
  path: string,
  checkpoints: readonly ChainPoint[],
  keys: ReturnType<typeof checkpointKeys> | null,
): Promise<{
  verdict: ChainVerdict;
  upgradeSeq: number;
  source: string;
  stored: StoredCheckpointCheck | null;
  anchor: AnchorCheck | null;
}> {
  const parsed = parseAuditExport(await readText(path));
  if (!parsed.ok) throw usageError(`${path}:${parsed.line}: ${parsed.message}`);
  const { header } = parsed;
  let anchor: AnchorCheck | null = null;
  if (header.anchor !== undefined) {
    const check = keys === null ? null : verifyCheckpoint(header.anchor.checkpoint, keys);
    anchor = {
      seq: header.anchor.seq,
      hash: header.anchor.hash,
      refused:
        check === null ||
        (check.ok &&
          check.checkpoint.seq === header.anchor.seq &&
          check.checkpoint.hash === header.anchor.hash)
          ? null
          : check.ok
            ? `its checkpoint signs seq ${check.checkpoint.seq}, not the anchor's seq ${header.anchor.seq} and hash`
            : check.reason,
    };
  }
  let stored: StoredCheckpointCheck | null = null;
  const points = [...checkpoints];
  if (keys !== null && header.checkpoints !== undefined) {
    const refused: { seq: number; reason: string }[] = [];
    let accepted = 0;
    let lastSeq: number | null = null;
    for (const jws of header.checkpoints) {
      const check = verifyCheckpoint(jws, keys);
      if (!check.ok) {
        refused.push({ seq: claimedSeq(jws), reason: check.reason });
        continue;
      }
      points.push({ seq: check.checkpoint.seq, hash: check.checkpoint.hash });
      accepted += 1;
      lastSeq = Math.max(lastSeq ?? 0, check.checkpoint.seq);
    }
    stored = { accepted, lastSeq, refused };
  }
  return {
    verdict: verifyChain(parsed.rows, {
      head: header.head,
      checkpoints: points,
      ...(anchor === null || anchor.refused !== null
        ? {}
        : { anchor: { seq: anchor.seq, hash: anchor.hash } }),
    }),
    upgradeSeq: header.upgradeSeq,
    source: path,
    stored,
    anchor,
  };
}

/** `externalUpTo`: the newest seq a checkpoint given with --checkpoints covers (0: none). */
/** The seq a checkpoint says it signs, read without believing it (to name a refused one); -1 when unreadable. */
function claimedSeq(jws: string): number {
  try {
    const seq = (
      JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as { seq?: unknown }
    ).seq;
    return Number.isSafeInteger(seq) ? (seq as number) : -1;
  } catch {
    return -1;
  }
}

function report(verdict: ChainVerdict, upgradeSeq: number, externalUpTo: number): string {
  if (verdict.break !== null) {
    return `Audit trail BROKEN: ${verdict.break.kind} at seq ${verdict.break.seq}${
      verdict.break.id === null ? '' : ` (id ${verdict.break.id})`
    }: ${verdict.break.detail}.`;
  }
  const lines = [
    verdict.rows === 0
      ? 'Audit trail intact: no rows yet.'
      : `Audit trail intact: ${verdict.rows} rows, seq ${verdict.firstSeq}..${verdict.lastSeq}, last hash ${verdict.lastHash}.`,
  ];
  if (verdict.unanchoredStart) {
    lines.push(
      `The trail starts at seq ${verdict.firstSeq}: what came before it (pruned) is not vouched for.`,
    );
  }
  if (upgradeSeq > 0 && (verdict.firstSeq ?? 1) <= upgradeSeq) {
    lines.push(
      `Rows up to seq ${upgradeSeq} were chained at upgrade time: unchanged since the upgrade; their history before it cannot be proven.`,
    );
  }
  if (verdict.unprovenAfterSeq !== null) {
    lines.push(
      `Rows after seq ${verdict.unprovenAfterSeq} are consistent but not proven by a checkpoint: someone who could write the database could have rewritten or cut them.`,
    );
  } else if (verdict.rows > 0) {
    lines.push(
      externalUpTo >= (verdict.lastSeq ?? 0)
        ? `Every row up to seq ${verdict.lastSeq} is proven by a checkpoint held outside the database.`
        : `Every row up to seq ${verdict.lastSeq} is covered by a checkpoint stored in the database (and up to seq ${externalUpTo} by one held outside it).`,
    );
  }
  return lines.join('\n');
}

async function newFile(path: string): Promise<Writable> {
  const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  try {
    await once(stream, 'open');
  } catch (error) {
    throw usageError(`cannot create ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return stream;
}

async function write(sink: Writable, text: string): Promise<void> {
  if (!sink.write(text)) await once(sink, 'drain');
}
