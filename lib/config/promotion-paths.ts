// `environments.<env>.requires.promotedIn` must name another environment of
// the same config, and the promotion path must not loop (staging requires
// production requires staging would refuse every deployment). PURE, works on
// raw data like the rest of semantic.ts (which calls it).
import type { SemanticIssue } from "./semantic";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function checkPromotionPaths(environments: unknown): SemanticIssue[] {
  if (!isObj(environments)) return [];
  const out: SemanticIssue[] = [];
  const names = Object.keys(environments);
  const next = new Map<string, string>();
  for (const [name, env] of Object.entries(environments)) {
    const from = isObj(env) && isObj(env.requires) ? env.requires.promotedIn : undefined;
    if (typeof from !== "string") continue;
    const segments = ["environments", name, "requires", "promotedIn"];
    if (from === name) {
      out.push({
        segments,
        code: "promoted-in-itself",
        message: `environment ${name} requires a promotion in itself, which can never happen first`,
        fix: "name the environment that comes before it, e.g. staging",
      });
    } else if (!names.includes(from)) {
      out.push({
        segments,
        code: "unknown-environment",
        message: `requires.promotedIn names environment "${from}", which this config does not define`,
        expected: `one of: ${names.filter((n) => n !== name).join(", ") || "(no other environment)"}`,
        found: from,
        fix: "name an environment of this config, or add it",
      });
    } else next.set(name, from);
  }
  // A loop: following promotedIn from an environment comes back to it.
  const reported = new Set<string>();
  for (const start of next.keys()) {
    const path = [start];
    for (let at = next.get(start); at !== undefined; at = next.get(at)) {
      if (at === start) {
        if (!path.some((p) => reported.has(p))) {
          for (const p of path) reported.add(p);
          out.push({
            segments: ["environments", start, "requires", "promotedIn"],
            code: "promotion-cycle",
            message: `the promotion path loops: ${[...path, start].join(" → ")}; no deployment could ever be accepted`,
            fix: "remove requires.promotedIn from the first environment of the path",
          });
        }
        break;
      }
      if (path.includes(at)) break; // a loop further on, reported from its own start
      path.push(at);
    }
  }
  return out;
}
