import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../config.js';

describe('audit checkpoint configuration', () => {
  it('signs every 1000 rows or 300 seconds by default, with no file', () => {
    expect(loadConfig({}).auditCheckpoints).toEqual({ rows: 1000, seconds: 300, file: null });
  });

  it('reads the row count, the seconds and the file', () => {
    expect(
      loadConfig({
        TOKENWARDEN_AUDIT_CHECKPOINT_ROWS: '50',
        TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS: '60',
        TOKENWARDEN_AUDIT_CHECKPOINT_FILE: '/var/log/tokenwarden/checkpoints.jsonl',
      }).auditCheckpoints,
    ).toEqual({ rows: 50, seconds: 60, file: '/var/log/tokenwarden/checkpoints.jsonl' });
  });

  it.each([
    ['TOKENWARDEN_AUDIT_CHECKPOINT_ROWS', '0'],
    ['TOKENWARDEN_AUDIT_CHECKPOINT_ROWS', 'many'],
    ['TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS', '0'],
    ['TOKENWARDEN_AUDIT_CHECKPOINT_SECONDS', '86401'],
  ])('refuses %s=%s, naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
