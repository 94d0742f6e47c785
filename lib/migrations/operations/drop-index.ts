/** drop_index: the old version may still need the index; it is dropped CONCURRENTLY on complete. */
import { z } from "zod";
import type { Operation } from "../types";
import { dropIndexConcurrently, Name } from "./common";

export const kind = "drop_index";
export const schema = z.strictObject({ name: Name });
export type DropIndex = z.infer<typeof schema>;

export function create(def: DropIndex): Operation {
  return {
    kind,
    describe: () => `drop index ${def.name}`,
    applyToModel() {},
    async start() {},
    async complete(ctx) {
      await ctx.stepOutsideTransaction(`complete:${ctx.index}:drop_index`, async (c) => {
        await dropIndexConcurrently(c, ctx.schema, def.name);
      });
    },
    async rollback() {},
  };
}
