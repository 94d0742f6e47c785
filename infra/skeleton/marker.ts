import * as pulumi from "@pulumi/pulumi";

/**
 * The walking skeleton's one resource: a marker file standing in for "the
 * green environment". It is a dynamic provider so the skeleton exercises the
 * same machinery (pulumi-resource-pulumi-nodejs) that the local target's
 * process resources use.
 *
 * create is idempotent by file path: after a crash that left a pending create,
 * rerunning create simply rewrites the same file — nothing leaks.
 * `holdMs` lets tests keep `pulumi up` busy so they can kill it mid-update;
 * `startedFile` tells them the update reached the provider.
 */
export interface MarkerInputs {
  file: string;
  content: string;
  holdMs: number;
  startedFile: string;
}

const markerProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: MarkerInputs) {
    // Dynamic providers are serialized and run in a separate process, so they
    // load their modules themselves.
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    if (inputs.startedFile) {
      fs.mkdirSync(path.dirname(inputs.startedFile), { recursive: true });
      fs.writeFileSync(inputs.startedFile, String(process.pid));
    }
    if (inputs.holdMs > 0) await new Promise((r) => setTimeout(r, inputs.holdMs));
    fs.mkdirSync(path.dirname(inputs.file), { recursive: true });
    fs.writeFileSync(inputs.file, inputs.content);
    return { id: inputs.file, outs: inputs };
  },
  async delete(id: string) {
    const fs = require("node:fs") as typeof import("node:fs");
    fs.rmSync(id, { force: true });
  },
  async diff(_id: string, olds: MarkerInputs, news: MarkerInputs) {
    const replaces = olds.file !== news.file ? ["file"] : [];
    return { changes: olds.file !== news.file || olds.content !== news.content, replaces };
  },
  async update(id: string, _olds: MarkerInputs, news: MarkerInputs) {
    const fs = require("node:fs") as typeof import("node:fs");
    fs.writeFileSync(id, news.content);
    return { outs: news };
  },
};

export class Marker extends pulumi.dynamic.Resource {
  declare readonly file: pulumi.Output<string>;
  constructor(name: string, args: MarkerInputs, opts?: pulumi.CustomResourceOptions) {
    super(markerProvider, name, { ...args }, opts);
  }
}
