// The JSON Schema of shipshape.yaml, generated from the zod schema (input side:
// what people write). `npm run schema` commits it to
// schema/shipshape.schema.json for editors; the loader walks it to find the keys
// allowed at a path (for "did you mean") and field descriptions. Pure module.

import { z } from "zod";
import { ReleaseConfigSchema } from "./schema";

export const JSON_SCHEMA_ID = "https://shipshape.dev/schema/shipshape.schema.json";

export type JsonSchemaNode = {
  type?: string | string[];
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: boolean | JsonSchemaNode;
  propertyNames?: JsonSchemaNode;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
  enum?: unknown[];
  required?: string[];
  description?: string;
  pattern?: string;
  $ref?: string;
  $defs?: Record<string, JsonSchemaNode>;
  [key: string]: unknown;
};

let cached: JsonSchemaNode | undefined;

export function releaseConfigJsonSchema(): JsonSchemaNode {
  if (!cached) {
    const generated = z.toJSONSchema(ReleaseConfigSchema, {
      io: "input",
      target: "draft-2020-12",
    }) as JsonSchemaNode;
    const { $schema, ...rest } = generated;
    cached = { $schema, $id: JSON_SCHEMA_ID, ...rest };
  }
  return cached;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

function deref(root: JsonSchemaNode, node: JsonSchemaNode | undefined): JsonSchemaNode | undefined {
  let n = node;
  for (let i = 0; n?.$ref && i < 20; i++) {
    const m = /^#\/\$defs\/(.+)$/.exec(n.$ref);
    n = m ? root.$defs?.[m[1]!] : undefined;
  }
  return n;
}

/** Object keys of a schema node (for anyOf: of every object branch). */
export function allowedKeys(root: JsonSchemaNode, node: JsonSchemaNode | undefined): string[] {
  const n = deref(root, node);
  if (!n) return [];
  const branches = n.anyOf ?? n.oneOf;
  if (branches) return [...new Set(branches.flatMap((b) => allowedKeys(root, b)))];
  return Object.keys(n.properties ?? {});
}

/** Picks the anyOf branch that best fits `data` (most keys known). */
export function pickBranch(
  root: JsonSchemaNode,
  branches: JsonSchemaNode[],
  data: unknown,
): JsonSchemaNode | undefined {
  if (!isObj(data)) return branches[0];
  let best: JsonSchemaNode | undefined;
  let bestScore = -1;
  for (const b of branches) {
    const keys = allowedKeys(root, b);
    const score = Object.keys(data).filter((k) => keys.includes(k)).length;
    if (score > bestScore) {
      best = b;
      bestScore = score;
    }
  }
  return best;
}

/** The schema node describing the value at `segments` in `data`. */
export function schemaNodeAt(
  root: JsonSchemaNode,
  segments: readonly PropertyKey[],
  data: unknown,
): JsonSchemaNode | undefined {
  let node = deref(root, root);
  let value: unknown = data;
  for (const segment of segments) {
    if (!node) return undefined;
    const branches = node.anyOf ?? node.oneOf;
    if (branches) node = deref(root, pickBranch(root, branches, value));
    if (!node) return undefined;
    if (typeof segment === "number") {
      node = deref(root, node.items);
      value = Array.isArray(value) ? value[segment] : undefined;
    } else {
      const key = String(segment);
      const next =
        node.properties?.[key] ??
        (typeof node.additionalProperties === "object" ? node.additionalProperties : undefined);
      node = deref(root, next);
      value = isObj(value) ? value[key] : undefined;
    }
  }
  return node;
}
