import {
  type Serializer,
  type SerializerFactory,
  SerializerSelector,
} from '@fastify/fast-json-stringify-compiler';

const buildSerializer = SerializerSelector();

/** Every serializer built in this process, by what it was built from (all of it JSON). */
const built = new Map<string, Serializer>();

/**
 * fastify's own serializer factory (fast-json-stringify), remembering each serializer it builds
 * for the rest of the process. A serializer is a function of the response schema, the shared
 * schemas and the serializer options alone, all plain JSON: an app built again in the same
 * process (a restart in place, every test's app) reuses its serializers instead of generating
 * and compiling each one again (an ajv instance apiece; a tenth of a second or more per app).
 * The key is those inputs by value: routes build their schema objects afresh for each app.
 *
 * @example
 * Fastify({ schemaController: { compilersFactory: { buildSerializer: rememberingSerializerFactory } } });
 */
export const rememberingSerializerFactory: SerializerFactory = (externalSchemas, options) => {
  const compile = buildSerializer(externalSchemas, options);
  let shared = (externalSchemas ?? {}) as Readonly<Record<string, unknown>>;
  let context = JSON.stringify([shared, options ?? null]);
  return (route) => {
    const id = (route.schema as { readonly $id?: unknown } | undefined)?.$id;
    if (typeof id === 'string' && shared[id] !== undefined) {
      // fastify's compiler leaves a shared schema with the route schema's own $id out from
      // this route on, for the rest of this factory: so does the key.
      const { [id]: _left, ...rest } = shared;
      shared = rest;
      context = JSON.stringify([shared, options ?? null]);
    }
    const { contentType } = route as { readonly contentType?: string };
    const key = JSON.stringify([route.schema ?? null, route.httpStatus, contentType ?? null, context]);
    let serializer = built.get(key);
    if (serializer === undefined) {
      serializer = compile(route);
      built.set(key, serializer);
    }
    return serializer;
  };
};
