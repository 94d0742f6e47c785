/**
 * `TrafficRouter` on an AWS Application Load Balancer (AWS SDK v3).
 *
 * One service+environment is one forward action: either a listener rule
 * (`ruleArn`, the platform stack's rule — see program/platform.ts) or, when no
 * rule is given, the listener's default action. That action lists the blue and
 * green target groups with weights 0–999 (see weights.ts).
 *
 * The "table" (what Shipshape wants in effect) is kept as tags on the rule (or
 * listener), written BEFORE the action is changed:
 *   shipshape:table-version  monotonic counter (AppliedRoutes.tableVersion)
 *   shipshape:weights        "<blue>:<green>" ALB weights wanted
 *   shipshape:blue / :green  "<version> <target group ARN>" ("" = no backend)
 * so a retry after a crash between the two calls finds the intent and
 * finishes it (same tableVersion), and `waitApplied` has something to compare
 * the data plane with: it resolves only once DescribeRules/DescribeListeners
 * return exactly the wanted target groups and weights, and every target group
 * with weight has a healthy target (invariant 1). One deployment per scope at
 * a time (invariant 5) is what makes read-modify-write of the tags safe.
 *
 * A BackendSpec's `instances` holds the version environment's target group
 * ARN (the `targetGroupArn` output of program/version-environment.ts).
 *
 * Credentials and region come from the SDK's default chain (env, profiles,
 * SSO, instance/task roles) unless a client is passed in; nothing here logs
 * them.
 */
import {
  type Action,
  AddTagsCommand,
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type ElasticLoadBalancingV2ClientConfig,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type {
  AppliedRoutes,
  BackendSpec,
  TrafficRouter,
  TrafficSplit,
} from "../../lib/drivers/traffic-router";
import { type AlbWeights, splitToWeights, weightsToSplit } from "./weights";

type Scope = { service: string; environment: string };
type Side = "blue" | "green";
const SIDES: readonly Side[] = ["blue", "green"];

/** Where one scope's traffic is split. */
export interface AlbRouteTarget {
  listenerArn: string;
  /** The weighted listener rule; absent = the listener's default action. */
  ruleArn?: string;
}

export interface AlbTrafficRouterOptions {
  /** Scope → listener (and rule). Usually from the platform stack's outputs or the release config. */
  resolve: (scope: Scope) => AlbRouteTarget | Promise<AlbRouteTarget>;
  /** A ready client (tests: endpoint override); default: a client from `clientConfig` and the default chain. */
  client?: ElasticLoadBalancingV2Client;
  clientConfig?: ElasticLoadBalancingV2ClientConfig;
  /** How long a shift waits for a target group to have a healthy target. Default 5 minutes. */
  healthTimeoutMs?: number;
  /** Poll interval of health and read-back checks. Default 5 s. */
  pollMs?: number;
  log?: (line: string) => void;
}

export const TAG_VERSION = "shipshape:table-version";
export const TAG_WEIGHTS = "shipshape:weights";
export const TAG_SIDE = { blue: "shipshape:blue", green: "shipshape:green" } as const;

interface Table {
  version: number;
  weights: AlbWeights;
  backends: Partial<Record<Side, { version: string; targetGroupArn: string }>>;
}

interface Observed {
  target: AlbRouteTarget;
  /** The ARN the table tags live on (rule, or listener for the default action). */
  resource: string;
  table: Table | null;
  /** Target group ARN → weight of the current forward action (empty when it is not a forward). */
  forward: Map<string, number>;
  /** The rule's conditions are kept as they are; the other actions too (e.g. authenticate-*). */
  otherActions: Action[];
}

const TARGET_GROUP_ARN = /^arn:[^:]+:elasticloadbalancing:[^:]*:[^:]*:targetgroup\/[^/]+\/[0-9a-f]+$/;

function targetGroupOf(side: Side, spec: BackendSpec): string {
  const arn = spec.instances[0];
  if (spec.instances.length !== 1 || !arn || !TARGET_GROUP_ARN.test(arn)) {
    throw new Error(
      `${side} backend of version ${spec.version} must name exactly one target group ARN ` +
        `(arn:aws:elasticloadbalancing:…:targetgroup/…), got ${JSON.stringify(spec.instances)}`,
    );
  }
  return arn;
}

function parseTable(tags: Record<string, string>): Table | null {
  const v = tags[TAG_VERSION];
  if (v === undefined) return null;
  const m = /^(\d+):(\d+)$/.exec(tags[TAG_WEIGHTS] ?? "");
  const backends: Table["backends"] = {};
  for (const side of SIDES) {
    const raw = tags[TAG_SIDE[side]] ?? "";
    const i = raw.indexOf(" ");
    if (i > 0) backends[side] = { version: raw.slice(0, i), targetGroupArn: raw.slice(i + 1) };
  }
  return {
    version: Number(v) || 0,
    weights: { blue: Number(m?.[1] ?? 0), green: Number(m?.[2] ?? 0) },
    backends,
  };
}

function tableTags(t: Table): Array<{ Key: string; Value: string }> {
  const side = (s: Side) => {
    const b = t.backends[s];
    return b ? `${b.version} ${b.targetGroupArn}` : "";
  };
  return [
    { Key: TAG_VERSION, Value: String(t.version) },
    { Key: TAG_WEIGHTS, Value: `${t.weights.blue}:${t.weights.green}` },
    { Key: TAG_SIDE.blue, Value: side("blue") },
    { Key: TAG_SIDE.green, Value: side("green") },
  ];
}

/** Target group → weight the table wants (sides without a backend are left out). */
function wantedForward(t: Table): Map<string, number> {
  const m = new Map<string, number>();
  for (const side of SIDES) {
    const b = t.backends[side];
    if (b) m.set(b.targetGroupArn, (m.get(b.targetGroupArn) ?? 0) + t.weights[side]);
  }
  return m;
}

function sameForward(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

function sameTable(a: Table, b: Table): boolean {
  return (
    a.weights.blue === b.weights.blue &&
    a.weights.green === b.weights.green &&
    SIDES.every(
      (s) =>
        a.backends[s]?.version === b.backends[s]?.version &&
        a.backends[s]?.targetGroupArn === b.backends[s]?.targetGroupArn,
    )
  );
}

function forwardOf(actions: Action[]): { forward: Map<string, number>; other: Action[] } {
  const forward = new Map<string, number>();
  const other: Action[] = [];
  for (const a of actions) {
    if (a.Type !== "forward") {
      other.push(a);
      continue;
    }
    const groups = a.ForwardConfig?.TargetGroups;
    if (groups && groups.length > 0) {
      for (const g of groups) if (g.TargetGroupArn) forward.set(g.TargetGroupArn, g.Weight ?? 1);
    } else if (a.TargetGroupArn) {
      forward.set(a.TargetGroupArn, 1);
    }
  }
  return { forward, other };
}

function toApplied(obs: Observed): AppliedRoutes {
  const t = obs.table;
  const backends: AppliedRoutes["backends"] = {};
  const weights: AlbWeights = { blue: 0, green: 0 };
  for (const side of SIDES) {
    const b = t?.backends[side];
    if (!b) continue;
    backends[side] = { version: b.version, instances: [b.targetGroupArn] };
    // What the data plane does now (not what the table wants).
    weights[side] = obs.forward.get(b.targetGroupArn) ?? 0;
  }
  if (backends.blue && backends.green && backends.blue.instances[0] === backends.green.instances[0]) {
    weights.green = 0; // one target group registered twice: count its weight once
  }
  return { tableVersion: t?.version ?? 0, split: weightsToSplit(weights), backends };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createAlbTrafficRouter(options: AlbTrafficRouterOptions): TrafficRouter & {
  /** Healthy targets of a target group right now. */
  healthyTargets(targetGroupArn: string): Promise<number>;
} {
  const client = options.client ?? new ElasticLoadBalancingV2Client(options.clientConfig ?? {});
  const healthTimeoutMs = options.healthTimeoutMs ?? 300_000;
  const pollMs = options.pollMs ?? 5_000;
  const log = options.log ?? (() => {});

  async function observe(scope: Scope): Promise<Observed> {
    const target = await options.resolve(scope);
    let actions: Action[];
    let resource: string;
    if (target.ruleArn) {
      const r = await client.send(new DescribeRulesCommand({ RuleArns: [target.ruleArn] }));
      const rule = r.Rules?.[0];
      if (!rule) throw new Error(`listener rule ${target.ruleArn} not found`);
      actions = rule.Actions ?? [];
      resource = target.ruleArn;
    } else {
      const r = await client.send(new DescribeListenersCommand({ ListenerArns: [target.listenerArn] }));
      const listener = r.Listeners?.[0];
      if (!listener) throw new Error(`listener ${target.listenerArn} not found`);
      actions = listener.DefaultActions ?? [];
      resource = target.listenerArn;
    }
    const tags = await client.send(new DescribeTagsCommand({ ResourceArns: [resource] }));
    const tagMap: Record<string, string> = {};
    for (const t of tags.TagDescriptions?.[0]?.Tags ?? []) if (t.Key) tagMap[t.Key] = t.Value ?? "";
    const { forward, other } = forwardOf(actions);
    return { target, resource, table: parseTable(tagMap), forward, otherActions: other };
  }

  async function healthyTargets(targetGroupArn: string): Promise<number> {
    const r = await client.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
    return (r.TargetHealthDescriptions ?? []).filter((d) => d.TargetHealth?.State === "healthy").length;
  }

  /** Waits until each target group has at least one healthy target; throws with the count after the timeout. */
  async function waitHealthy(groups: string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const tg of groups) {
      for (;;) {
        const healthy = await healthyTargets(tg);
        if (healthy > 0) break;
        if (Date.now() >= deadline) {
          throw new Error(
            `target group ${tg} has no healthy target after ${Math.round(timeoutMs / 1000)}s; ` +
              "not sending traffic to it (check the service's tasks and its health check)",
          );
        }
        log(`waiting for a healthy target in ${tg}`);
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      }
    }
  }

  /** Writes the table (tags first: the intent survives a crash), then the forward action. */
  async function apply(scope: Scope, obs: Observed, next: Omit<Table, "version">): Promise<AppliedRoutes> {
    let table: Table;
    if (obs.table && sameTable(obs.table, { ...next, version: obs.table.version })) {
      table = obs.table; // already the table: keep its version (idempotent retry)
    } else {
      table = { ...next, version: (obs.table?.version ?? 0) + 1 };
    }
    const wanted = wantedForward(table);
    if (wanted.size === 0) throw new Error(`${scope.service}/${scope.environment}: no backend to forward to`);
    // Users are always served: a target group gets traffic only when it has a healthy target.
    const gaining = [...wanted]
      .filter(([tg, w]) => w > 0 && (obs.forward.get(tg) ?? 0) === 0)
      .map(([tg]) => tg);
    await waitHealthy(gaining, healthTimeoutMs);

    if (table !== obs.table) {
      await client.send(new AddTagsCommand({ ResourceArns: [obs.resource], Tags: tableTags(table) }));
    }
    if (!sameForward(wanted, obs.forward)) {
      const forward: Action = {
        Type: "forward",
        Order: obs.otherActions.length + 1,
        ForwardConfig: {
          TargetGroups: [...wanted].map(([TargetGroupArn, Weight]) => ({ TargetGroupArn, Weight })),
          TargetGroupStickinessConfig: { Enabled: false },
        },
      };
      const actions = [...obs.otherActions, forward];
      if (obs.target.ruleArn) {
        await client.send(new ModifyRuleCommand({ RuleArn: obs.target.ruleArn, Actions: actions }));
      } else {
        await client.send(
          new ModifyListenerCommand({ ListenerArn: obs.target.listenerArn, DefaultActions: actions }),
        );
      }
      log(
        `${scope.service}/${scope.environment}: table ${table.version} forward ` +
          [...wanted].map(([tg, w]) => `${tg.split("/")[1]}=${w}`).join(" "),
      );
    }
    return toApplied({ ...obs, table, forward: wanted });
  }

  return {
    healthyTargets,

    async setBackends(scope, backends) {
      const obs = await observe(scope);
      const cur = obs.table;
      const next: Omit<Table, "version"> = { weights: { blue: 0, green: 0 }, backends: {} };
      for (const side of SIDES) {
        const spec = backends[side];
        if (spec) next.backends[side] = { version: spec.version, targetGroupArn: targetGroupOf(side, spec) };
      }
      if (next.backends.blue && !next.backends.green) next.weights = { blue: 999, green: 0 };
      else if (!next.backends.blue && next.backends.green) next.weights = { blue: 0, green: 999 };
      else if (next.backends.blue && next.backends.green) {
        // Keep the weights of backends that stay; a new green starts dark.
        const keep = (s: Side) =>
          cur?.backends[s]?.targetGroupArn === next.backends[s]?.targetGroupArn ? cur?.weights[s] : undefined;
        const blue = keep("blue");
        const green = keep("green");
        next.weights =
          blue !== undefined && green !== undefined ? { blue, green } : { blue: 999, green: green ?? 0 };
        if (next.weights.blue + next.weights.green === 0) next.weights = { blue: 999, green: 0 };
      } else {
        throw new Error(`${scope.service}/${scope.environment}: setBackends needs blue or green`);
      }
      return apply(scope, obs, next);
    },

    async setWeights(scope, split: TrafficSplit) {
      const weights = splitToWeights(split);
      const obs = await observe(scope);
      const cur = obs.table;
      for (const side of SIDES) {
        if (weights[side] > 0 && !cur?.backends[side]) {
          throw new Error(`cannot send ${split[side]}% to ${side}: no ${side} backend registered`);
        }
      }
      return apply(scope, obs, { weights, backends: { ...(cur?.backends ?? {}) } });
    },

    async getRoutes(scope) {
      return toApplied(await observe(scope));
    },

    async waitApplied(scope, tableVersion, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let why = "";
      for (;;) {
        const obs = await observe(scope);
        const t = obs.table;
        if (!t || t.version < tableVersion) {
          why = `table version ${t?.version ?? "none"} < ${tableVersion}`;
        } else {
          const wanted = wantedForward(t);
          if (!sameForward(wanted, obs.forward)) {
            why = `forward action ${JSON.stringify([...obs.forward])} is not the table's ${JSON.stringify([...wanted])}`;
          } else {
            const starving: string[] = [];
            for (const [tg, w] of wanted) if (w > 0 && (await healthyTargets(tg)) === 0) starving.push(tg);
            if (starving.length === 0) return toApplied(obs);
            why = `${starving.join(", ")} has weight and no healthy target`;
          }
        }
        if (Date.now() >= deadline) {
          throw new Error(`${scope.service}/${scope.environment}: not applied after ${timeoutMs}ms: ${why}`);
        }
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      }
    },
  };
}
