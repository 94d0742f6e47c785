import { describe, expect, it } from "vitest";
import { formatTable } from "../../../lib/text-table";

describe("formatTable", () => {
  it("pads columns to the widest cell, right-aligns where asked, rules the header", () => {
    const lines = formatTable(
      [{ header: "deployment" }, { header: "duration", align: "right" }, { header: "ok" }],
      [
        ["v1 → v2 healthy", "109.1 s", "✓"],
        ["v2 → v3", "40.6 s", "✗"],
      ],
      { indent: "  ", rule: true },
    );
    expect(lines).toEqual([
      "  deployment       duration  ok",
      "  ───────────────  ────────  ──",
      "  v1 → v2 healthy   109.1 s  ✓",
      "  v2 → v3            40.6 s  ✗",
    ]);
  });

  it("gives a short row empty cells and leaves no trailing spaces", () => {
    const lines = formatTable([{ header: "a" }, { header: "b" }], [["x"]]);
    expect(lines).toEqual(["a  b", "x"]);
  });
});
