import { describe, expect, it } from "vitest";
import {
  formatPath,
  PathError,
  parsePath,
  selectPath,
  toNumber,
} from "../../../../activities/metrics/common";
import {
  extractValue,
  HttpJsonError,
  splitHttpJsonQuery,
} from "../../../../activities/metrics/http-json-provider";

const doc = {
  value: 0.02,
  data: { items: [{ value: 12.5 }, { value: "7" }], empty: [] as unknown[], nothing: null },
  stats: { "latency.p95": 180, "p99 ms": 250 },
  series: [
    [1, 3],
    [2, 5],
    [3, 8],
  ],
  samples: [3, 1, 2, "4"],
  text: "abc",
  flag: true,
};

describe("path expressions", () => {
  it("parses keys, indexes (negative too) and quoted keys", () => {
    expect(parsePath("data.items[0].value")).toEqual([
      { key: "data" },
      { key: "items" },
      { index: 0 },
      { key: "value" },
    ]);
    expect(parsePath(".value")).toEqual([{ key: "value" }]);
    expect(parsePath('stats["latency.p95"]')).toEqual([{ key: "stats" }, { key: "latency.p95" }]);
    expect(parsePath("stats['p99 ms']")).toEqual([{ key: "stats" }, { key: "p99 ms" }]);
    expect(parsePath("series[-1][ 1 ]")).toEqual([{ key: "series" }, { index: -1 }, { index: 1 }]);
    expect(parsePath('a["say \\"hi\\""]')).toEqual([{ key: "a" }, { key: 'say "hi"' }]);
    expect(parsePath("")).toEqual([]);
    expect(parsePath(".")).toEqual([]);
    expect(formatPath(parsePath('data.items[0]["a b"]'))).toBe('data.items[0]["a b"]');
  });

  it("rejects malformed paths with the position", () => {
    expect(() => parsePath("data..x")).toThrow(PathError);
    expect(() => parsePath("data[x]")).toThrow(/position 4/);
    expect(() => parsePath("data[0")).toThrow(PathError);
    expect(() => parsePath("9lives")).toThrow(/position 0/);
    expect(() => parsePath("a b")).toThrow(PathError);
  });

  it("selects values; absent keys and out-of-range indexes are undefined (no data)", () => {
    expect(selectPath(doc, parsePath("data.items[0].value"))).toBe(12.5);
    expect(selectPath(doc, parsePath("data.items[-1].value"))).toBe("7");
    expect(selectPath(doc, parsePath('stats["latency.p95"]'))).toBe(180);
    expect(selectPath(doc, parsePath("series[-1][1]"))).toBe(8);
    expect(selectPath(doc, parsePath("data.items[5].value"))).toBeUndefined();
    expect(selectPath(doc, parsePath("data.missing.deeper"))).toBeUndefined();
    expect(selectPath(doc, parsePath("data.nothing.deeper"))).toBeUndefined();
    expect(selectPath(doc, parsePath("toString"))).toBeUndefined(); // own keys only
    expect(selectPath(42, [])).toBe(42);
  });

  it("a path that does not fit the document's shape is an error, not no-data", () => {
    expect(() => selectPath(doc, parsePath("value.x"))).toThrow(/value is a number, not an object/);
    expect(() => selectPath(doc, parsePath("data[0]"))).toThrow(/data is an object, not an array/);
    expect(() => selectPath(doc, parsePath("series.x"))).toThrow(/not an object/);
  });

  it("numbers may be JSON numbers or numeric strings", () => {
    expect(toNumber(3)).toBe(3);
    expect(toNumber(" 0.5 ")).toBe(0.5);
    expect(toNumber("1e3")).toBe(1000);
    expect(Number.isNaN(toNumber("NaN"))).toBe(true);
    expect(toNumber("+Inf")).toBeNaN();
    expect(toNumber("abc")).toBeUndefined();
    expect(toNumber("")).toBeUndefined();
    expect(toNumber(true)).toBeUndefined();
  });
});

describe("http-json query and extraction", () => {
  it("splits url#path at the first #", () => {
    const q = splitHttpJsonQuery("http://h/api?v=$version#data.items[0].value");
    expect(q.urlTemplate).toBe("http://h/api?v=$version");
    expect(q.path).toEqual(parsePath("data.items[0].value"));
    expect(splitHttpJsonQuery("http://h/n").path).toEqual([]);
    expect(() => splitHttpJsonQuery("#value")).toThrow(HttpJsonError);
  });

  it("extracts numbers, numeric strings, null (no data) and sample arrays (median value)", () => {
    expect(extractValue(doc, parsePath("value"))).toEqual({ value: 0.02 });
    expect(extractValue(doc, parsePath("data.items[1].value"))).toEqual({ value: 7 });
    expect(extractValue(doc, parsePath("data.nothing"))).toEqual({ value: null });
    expect(extractValue(doc, parsePath("data.absent"))).toEqual({ value: null });
    expect(extractValue(doc, parsePath("samples"))).toEqual({ value: 2.5, samples: [3, 1, 2, 4] });
    expect(extractValue(doc, parsePath("data.empty"))).toEqual({ value: null, samples: [] });
    expect(extractValue("NaN", [])).toEqual({ value: null });
  });

  it("a value that is not a number is an error", () => {
    expect(() => extractValue(doc, parsePath("text"))).toThrow(/"abc", not a number/);
    expect(() => extractValue(doc, parsePath("flag"))).toThrow(/true, not a number/);
    expect(() => extractValue(doc, parsePath("data"))).toThrow(/an object, not a number/);
    expect(() => extractValue(doc, parsePath("data.items"))).toThrow(/not all numbers/);
  });
});
