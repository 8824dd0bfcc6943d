import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Command } from 'commander';
import { type ChainVerdict, verifyChain } from '../domain/audit-chain.js';
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
        const header: AuditExportHeader = {
          format: AUDIT_EXPORT_FORMAT,
          exportedAt: new Date().toISOString(),
          head: state.head,
          upgradeSeq: state.upgradeSeq,
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

  jsonOption(
    audit
      .command('verify')
      .description(
        'check the audit hash chain (from the database, or offline from an export with --from): exit 0 intact, 1 broken (the first bad row is named), 2 unreadable input',
      )
      .option(
        '--from <file>',
        'verify this export (tokenwarden audit export) instead of the database; needs no database',
      ),
  ).action(async (options: VerifyOptions) => {
    const out = outputFor(io, options);
    const { verdict, upgradeSeq, source } =
      options.from === undefined
        ? await withCore(io, async (core) => {
            const { state, verdict } = await core.services.auditTrail.verify();
            return { verdict, upgradeSeq: state.upgradeSeq, source: 'database' };
          })
        : await verifyExport(options.from);
    out.result({ source, ...verdict, upgradeSeq }, () => report(verdict, upgradeSeq));
    if (verdict.break !== null) {
      const b = verdict.break;
      throw new CliError(
        `audit trail broken at seq ${b.seq}${b.id === null ? '' : ` (id ${b.id})`}: ${b.kind}`,
        EXIT_FAILURE,
      );
    }
  });
}

async function verifyExport(
  path: string,
): Promise<{ verdict: ChainVerdict; upgradeSeq: number; source: string }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw usageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const parsed = parseAuditExport(text);
  if (!parsed.ok) throw usageError(`${path}:${parsed.line}: ${parsed.message}`);
  return {
    verdict: verifyChain(parsed.rows, { head: parsed.header.head }),
    upgradeSeq: parsed.header.upgradeSeq,
    source: path,
  };
}

function report(verdict: ChainVerdict, upgradeSeq: number): string {
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
      `Rows after seq ${verdict.unprovenAfterSeq} are consistent but not proven by a checkpoint held outside the database: someone who could write the database could have rewritten or cut them.`,
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
