import { describe, expect, it } from "vitest";
import { migrationDifferences } from "../../../client/promotion-path";

const m = (file: string, sha: string) => ({ file, sha256: sha.padEnd(64, "0") });

describe("requires.promotedIn: the same migrations", () => {
  it("accepts the same set in any order", () => {
    expect(
      migrationDifferences(
        [m("0001.yaml", "a"), m("0002.yaml", "b")],
        [m("0002.yaml", "b"), m("0001.yaml", "a")],
      ),
    ).toEqual([]);
  });

  it("names each migration that was not promoted, differs, or is no longer in the release", () => {
    expect(
      migrationDifferences(
        [m("0001.yaml", "a"), m("0002.yaml", "b"), m("0003.yaml", "c")],
        [m("0001.yaml", "a"), m("0002.yaml", "f"), m("0000.yaml", "z")],
      ),
    ).toEqual([
      "0002.yaml differs (here b00000000000, there f00000000000)",
      "0003.yaml was not promoted there",
      "0000.yaml was promoted there but is not in this release",
    ]);
  });
});
