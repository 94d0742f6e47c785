/**
 * Mann-Whitney U against reference values from an established implementation.
 *
 * Source of every expected number below: SciPy 1.17.1 (NumPy 2.4.6, CPython 3),
 * computed once by hand and committed (tests never call Python):
 *
 *   from scipy.stats import mannwhitneyu
 *   mannwhitneyu(x, y, alternative=ALT, method='asymptotic', use_continuity=True)   # "asym_ALT"
 *   mannwhitneyu(x, y, alternative=ALT, method='exact')                             # "exact_ALT" (tie-free vectors only)
 *   mannwhitneyu(x, y, alternative='two-sided', method='asymptotic', use_continuity=False)  # "asym_nocc_two-sided"
 *   mannwhitneyu(x, y, alternative='two-sided', method='auto')                      # "auto_two-sided"
 *
 * with ALT in {'two-sided', 'greater', 'less'}; each entry is [statistic, pvalue].
 * `hodgesLehmann` is numpy.median(numpy.subtract.outer(x, y).ravel()).
 * The random-looking vectors were drawn once with numpy.random.default_rng(20240611)
 * (normal(230, 25) / normal(200, 25) rounded to 0.1; poisson(12) / poisson(10))
 * and are written out literally here.
 */
import { describe, expect, it } from "vitest";
import {
  classifyMannWhitney,
  exactUpperTail,
  hodgesLehmannShift,
  mannWhitneyU,
  rankWithTies,
} from "../../../../lib/analysis/mann-whitney";

type Ref = Record<string, [number, number]>;
interface Vector {
  name: string;
  x: number[];
  y: number[];
  hodgesLehmann: number;
  ref: Ref;
}

const VECTORS: Vector[] = [
  {
    name: "small_no_ties",
    x: [1.1, 3.4, 2.2, 5.9, 4.7],
    y: [0.3, 1.7, 2.9, 0.8, 2.5, 1.4],
    hodgesLehmann: 1.85,
    ref: {
      "asym_two-sided": [24.0, 0.12069080052744556],
      "exact_two-sided": [24.0, 0.12554112554112554],
      asym_greater: [24.0, 0.06034540026372278],
      exact_greater: [24.0, 0.06277056277056277],
      asym_less: [24.0, 0.9585812874205969],
      exact_less: [24.0, 0.9588744588744589],
      "asym_nocc_two-sided": [24.0, 0.10034824646229075],
      "auto_two-sided": [24.0, 0.12554112554112554],
    },
  },
  {
    name: "scipy_doc",
    x: [19, 22, 16, 29, 24],
    y: [20, 11, 17, 12],
    hodgesLehmann: 7.0,
    ref: {
      "asym_two-sided": [17.0, 0.11134688653314041],
      "exact_two-sided": [17.0, 0.1111111111111111],
      asym_greater: [17.0, 0.055673443266570206],
      exact_greater: [17.0, 0.05555555555555555],
      asym_less: [17.0, 0.9669037101389033],
      exact_less: [17.0, 0.9682539682539683],
      "asym_nocc_two-sided": [17.0, 0.0864107329737],
      "auto_two-sided": [17.0, 0.1111111111111111],
    },
  },
  {
    name: "ties_unequal",
    x: [3, 4, 4, 5, 5, 5, 6, 7, 7, 9],
    y: [2, 3, 3, 4, 4, 5, 5, 5, 6, 6, 6, 8],
    hodgesLehmann: 1.0,
    ref: {
      "asym_two-sided": [73.0, 0.40172035294538766],
      asym_greater: [73.0, 0.20086017647269383],
      asym_less: [73.0, 0.8174359737761245],
      "asym_nocc_two-sided": [73.0, 0.3831566482847685],
      "auto_two-sided": [73.0, 0.40172035294538766],
    },
  },
  {
    name: "latency_20x20",
    x: [
      224.7, 217.1, 233.7, 185.3, 237.1, 222.0, 211.8, 232.5, 181.2, 226.0, 211.7, 240.2, 241.1, 206.8, 206.7,
      193.2, 210.3, 238.0, 251.4, 235.7,
    ],
    y: [
      200.9, 178.3, 204.9, 179.6, 206.0, 194.9, 221.4, 205.1, 234.2, 189.8, 218.9, 205.6, 242.4, 150.9, 221.9,
      174.4, 178.3, 199.5, 162.2, 170.1,
    ],
    hodgesLehmann: 24.45,
    ref: {
      "asym_two-sided": [317.0, 0.0016244351025548416],
      asym_greater: [317.0, 0.0008122175512774208],
      asym_less: [317.0, 0.9992598921278396],
      "asym_nocc_two-sided": [317.0, 0.0015507822148260707],
      "auto_two-sided": [317.0, 0.0016244351025548416],
    },
  },
  {
    name: "exact_3x15",
    x: [9.5, 12.25, 14.0],
    y: [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 15.0, 16.0],
    hodgesLehmann: 4.0,
    ref: {
      "asym_two-sided": [34.0, 0.19251757243647138],
      "exact_two-sided": [34.0, 0.20343137254901963],
      asym_greater: [34.0, 0.09625878621823569],
      exact_greater: [34.0, 0.10171568627450982],
      asym_less: [34.0, 0.9224342156364429],
      exact_less: [34.0, 0.9178921568627452],
      "asym_nocc_two-sided": [34.0, 0.1730709208049953],
      "auto_two-sided": [34.0, 0.20343137254901963],
    },
  },
  {
    name: "error_counts_ties",
    x: [0, 0, 0, 0, 0, 0, 1, 1, 1, 2],
    y: [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0],
    hodgesLehmann: 0.0,
    ref: {
      "asym_two-sided": [79.5, 0.08633151856116361],
      asym_greater: [79.5, 0.043165759280581806],
      asym_less: [79.5, 0.9644893990815104],
      "asym_nocc_two-sided": [79.5, 0.07837249165615101],
      "auto_two-sided": [79.5, 0.08633151856116361],
    },
  },
  {
    name: "int_40x35",
    x: [
      11, 10, 15, 14, 11, 2, 14, 10, 19, 8, 12, 14, 10, 9, 10, 15, 10, 12, 10, 7, 9, 11, 13, 17, 10, 11, 7,
      13, 9, 10, 16, 13, 9, 12, 14, 9, 14, 13, 11, 8,
    ],
    y: [
      4, 8, 11, 15, 15, 10, 5, 13, 16, 8, 15, 6, 9, 9, 12, 5, 7, 14, 6, 14, 7, 8, 9, 6, 14, 10, 8, 8, 10, 14,
      10, 14, 12, 9, 9,
    ],
    hodgesLehmann: 1.0,
    ref: {
      "asym_two-sided": [871.0, 0.06862827584864974],
      asym_greater: [871.0, 0.03431413792432487],
      asym_less: [871.0, 0.9664899069549892],
      "asym_nocc_two-sided": [871.0, 0.06782031070043516],
      "auto_two-sided": [871.0, 0.06862827584864974],
    },
  },
  {
    name: "exact_8x8",
    x: [10.2, 11.5, 9.8, 12.1, 13.4, 10.9, 11.1, 12.7],
    y: [9.1, 8.7, 10.0, 9.5, 8.2, 10.4, 9.9, 8.9],
    hodgesLehmann: 2.05,
    ref: {
      "asym_two-sided": [60.0, 0.00387604144899475],
      "exact_two-sided": [60.0, 0.0018648018648018648],
      asym_greater: [60.0, 0.001938020724497375],
      exact_greater: [60.0, 0.0009324009324009324],
      asym_less: [60.0, 0.9986191977910862],
      exact_less: [60.0, 0.9994560994560995],
      "asym_nocc_two-sided": [60.0, 0.003275897482908591],
      "auto_two-sided": [60.0, 0.0018648018648018648],
    },
  },
];

function relClose(actual: number, expected: number, rel = 1e-9): void {
  if (expected === 0) expect(Math.abs(actual)).toBeLessThan(1e-15);
  else expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThan(rel);
}

describe("mannWhitneyU matches scipy.stats.mannwhitneyu (SciPy 1.17.1)", () => {
  for (const v of VECTORS) {
    describe(v.name, () => {
      for (const [key, [u, p]] of Object.entries(v.ref)) {
        it(key, () => {
          const [kind, alt] = key.split("_") as [string, string];
          const alternative = (alt === "nocc" ? "two-sided" : alt) as "two-sided" | "greater" | "less";
          const method = kind === "auto" ? "auto" : kind === "exact" ? "exact" : "asymptotic";
          const r = mannWhitneyU(v.x, v.y, { alternative, method, continuity: alt !== "nocc" });
          expect(r.u1).toBe(u);
          expect(r.u1 + r.u2).toBe(v.x.length * v.y.length);
          relClose(r.pValue, p);
        });
      }
      it("Hodges–Lehmann shift matches numpy median of pairwise differences", () => {
        expect(hodgesLehmannShift(v.x, v.y)).toBeCloseTo(v.hodgesLehmann, 10);
      });
    });
  }

  it("auto picks exact only without ties and with a sample of at most 8", () => {
    expect(mannWhitneyU([1, 2, 3], [4, 5, 6]).method).toBe("exact");
    expect(mannWhitneyU([1, 2, 2], [4, 5, 6]).method).toBe("asymptotic");
    const big = Array.from({ length: 9 }, (_, i) => i);
    const big2 = Array.from({ length: 9 }, (_, i) => i + 0.5);
    expect(mannWhitneyU(big, big2).method).toBe("asymptotic");
    expect(mannWhitneyU(big, [0.25, 1.25]).method).toBe("exact");
  });

  it("exact distribution sums to 1 and is symmetric", () => {
    // P(U >= 0) = 1; P(U >= mn) = 1 / C(m+n, m)
    expect(exactUpperTail(0, 4, 6)).toBe(1);
    relClose(exactUpperTail(24, 4, 6), 1 / 210, 1e-12);
    // symmetry: P(U >= k) = P(U <= mn - k) = 1 - P(U >= mn - k + 1)
    for (let k = 1; k <= 24; k++) {
      relClose(exactUpperTail(k, 4, 6), 1 - exactUpperTail(24 - k + 1, 4, 6), 1e-12);
    }
  });

  it("all values tied gives p = 1 (scipy returns nan: no evidence either way)", () => {
    const r = mannWhitneyU([5, 5, 5], [5, 5, 5, 5], { method: "asymptotic" });
    expect(r.u1).toBe(6);
    expect(r.pValue).toBe(1);
  });

  it("rejects empty and non-finite samples", () => {
    expect(() => mannWhitneyU([], [1])).toThrow(/empty/);
    expect(() => mannWhitneyU([1, Number.NaN], [1])).toThrow(/non-finite/);
  });

  it("ranks ties with average ranks", () => {
    expect(rankWithTies([10, 20, 20, 30, 20])).toEqual({ ranks: [1, 3, 3, 5, 3], tieSizes: [3] });
  });

  it("Hodges–Lehmann falls back to the difference of medians above the pair cap", () => {
    const x = Array.from({ length: 600 }, (_, i) => i * 2); // median 599
    const y = Array.from({ length: 600 }, (_, i) => i); // median 299.5
    expect(hodgesLehmannShift(x, y)).toBe(299.5);
  });
});

describe("classifyMannWhitney (Kayenta-style)", () => {
  const opts = { tolerance: 0.1, confidence: 0.95, direction: "increase-is-bad" as const, minSamples: 5 };
  const latency = VECTORS.find((v) => v.name === "latency_20x20")!;

  it("fails a significant increase beyond tolerance", () => {
    // canary median 223.35 vs baseline 200.2 (numpy.median): HL shift 24.45 = +12.2% > 10%, p = 0.000812 (scipy, 'greater')
    const c = classifyMannWhitney(latency.x, latency.y, opts);
    expect(c.verdict).toBe("fail");
    expect(c.outcome).toBe("significant-beyond-tolerance");
    relClose(c.test!.pValue, 0.0008122175512774208);
    expect(c.shift).toBeCloseTo(24.45, 10);
    expect(c.effect).toBeCloseTo(24.45 / 200.2, 10);
    expect(c.canaryMedian).toBeCloseTo(223.35, 10);
    expect(c.baselineMedian).toBeCloseTo(200.2, 10);
  });

  it("marks a significant increase within tolerance as marginal", () => {
    const c = classifyMannWhitney(latency.x, latency.y, { ...opts, tolerance: 0.2 });
    expect(c.verdict).toBe("marginal");
    expect(c.outcome).toBe("significant-within-tolerance");
  });

  it("passes when the bad direction is not significant (a decrease with increase-is-bad)", () => {
    const c = classifyMannWhitney(latency.y, latency.x, opts);
    expect(c.verdict).toBe("pass");
    expect(c.outcome).toBe("not-significant");
    relClose(c.test!.pValue, 0.9992598921278396); // scipy 'greater' of (y, x) = 'less' of (x, y)
  });

  it("two-sided 'either' catches a decrease too", () => {
    const c = classifyMannWhitney(latency.y, latency.x, { ...opts, direction: "either" });
    expect(c.verdict).toBe("fail");
    relClose(c.test!.pValue, 0.0016244351025548416);
  });

  it("decrease-is-bad fails a significant drop and passes an improvement", () => {
    const drop = classifyMannWhitney(latency.y, latency.x, { ...opts, direction: "decrease-is-bad" });
    expect(drop.verdict).toBe("fail");
    const rise = classifyMannWhitney(latency.x, latency.y, { ...opts, direction: "decrease-is-bad" });
    expect(rise.verdict).toBe("pass");
  });

  it("is inconclusive below minSamples", () => {
    const c = classifyMannWhitney([1, 2, 3, 4], [1, 2, 3, 4, 5, 6], opts);
    expect(c.verdict).toBe("inconclusive");
    expect(c.outcome).toBe("too-few-samples");
    expect(c.test).toBeUndefined();
  });

  it("passes identical samples without testing", () => {
    const c = classifyMannWhitney([3, 1, 2, 5, 4], [1, 2, 3, 4, 5], opts);
    expect(c.verdict).toBe("pass");
    expect(c.outcome).toBe("identical");
  });

  it("uses the mean difference when the test is significant but the HL shift is 0 (mostly-zero counts)", () => {
    // The HL median of the 400 pairwise differences is 0; scipy 'greater' gives U = 251, p = 0.019369.
    const canary = [...Array<number>(14).fill(0), 1, 1, 1, 1, 2, 3];
    const baseline = [...Array<number>(19).fill(0), 1];
    const c = classifyMannWhitney(canary, baseline, opts);
    expect(hodgesLehmannShift(canary, baseline)).toBe(0);
    expect(c.test!.u1).toBe(251);
    relClose(c.test!.pValue, 0.01936893438723223);
    expect(c.effectBasis).toBe("mean");
    expect(c.shift).toBeCloseTo(0.45 - 0.05, 12);
    expect(c.effect).toBeCloseTo(0.4 / 0.05, 12);
    expect(c.verdict).toBe("fail");
  });
});
