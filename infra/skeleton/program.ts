import type { PulumiFn } from "@pulumi/pulumi/automation";
import { Marker } from "./marker";

export const SKELETON_PROJECT = "shipshape-skeleton";

export interface SkeletonProgramArgs {
  markerFile: string;
  content: string;
  holdMs: number;
  startedFile: string;
}

/** The walking skeleton's Pulumi program: one marker resource per green environment. */
export function skeletonProgram(args: SkeletonProgramArgs): PulumiFn {
  return async () => {
    const marker = new Marker("green-marker", {
      file: args.markerFile,
      content: args.content,
      holdMs: args.holdMs,
      startedFile: args.startedFile,
    });
    return { markerFile: marker.file };
  };
}
