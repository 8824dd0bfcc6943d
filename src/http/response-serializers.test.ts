import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import { describe, expect, it } from 'vitest';
import { rememberingSerializerFactory } from './response-serializers.js';

const shared = { Thing: { $id: 'Thing', type: 'object', properties: { id: { type: 'string' } } } };
/** A schema object built afresh each call, as a route plugin builds its schemas for each app. */
const schema = () => ({
  type: 'object',
  properties: { name: { type: 'string' }, thing: { $ref: 'Thing#' }, at: { type: 'string' } },
});
const route = (httpStatus: string, s: unknown = schema()) => ({
  method: 'GET',
  url: '/x',
  httpStatus,
  schema: s,
});

describe('rememberingSerializerFactory', () => {
  it('serializes as fastify’s own factory does (unknown fields dropped, shared schemas resolved)', () => {
    const body = { name: 'a"b', thing: { id: 't1', secret: 's' }, at: 'now', extra: 1 };
    const remembered = rememberingSerializerFactory(shared, {})(route('200'));
    const fastify = SerializerSelector()(shared, {})(route('200'));
    expect(remembered(body)).toBe(fastify(body));
    expect(JSON.parse(remembered(body))).toEqual({ name: 'a"b', thing: { id: 't1' }, at: 'now' });
  });

  it('builds a serializer once per process for equal inputs, even from new objects (a second app)', () => {
    const first = rememberingSerializerFactory(structuredClone(shared), {})(route('201'));
    const second = rememberingSerializerFactory(structuredClone(shared), {})(route('201'));
    expect(second).toBe(first);
  });

  it('builds another for another schema, status or set of shared schemas', () => {
    const base = rememberingSerializerFactory(shared, {})(route('202'));
    expect(rememberingSerializerFactory(shared, {})(route('203'))).not.toBe(base);
    const other = { type: 'object', properties: { name: { type: 'integer' } } };
    const otherSchema = rememberingSerializerFactory(shared, {})(route('202', other));
    expect(otherSchema).not.toBe(base);
    expect(otherSchema({ name: '7' })).toBe('{"name":7}');
    const otherShared = {
      Thing: { $id: 'Thing', type: 'object', properties: { id: { type: 'integer' } } },
    };
    const withOtherShared = rememberingSerializerFactory(otherShared, {})(route('202'));
    expect(withOtherShared).not.toBe(base);
    expect(JSON.parse(withOtherShared({ thing: { id: '5' } }))).toEqual({ thing: { id: 5 } });
  });
});
