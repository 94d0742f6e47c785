import { describe, expect, it } from "vitest";
import {
  loadBalancerDimension,
  planQuery,
  targetGroupDimension,
} from "../../../../activities/metrics/cloudwatch-provider";

describe("CloudWatch query plans and dimensions", () => {
  it("knows the ALB target-group metrics", () => {
    expect(planQuery("error_rate")).toMatchObject({
      kind: "ratio",
      num: { name: "HTTPCode_Target_5XX_Count" },
    });
    expect(planQuery("latency_p95_ms")).toEqual({
      kind: "single",
      name: "TargetResponseTime",
      stat: "p95",
      scale: 1000,
      combine: "mean",
    });
    expect(planQuery("metric:HTTPCode_Target_4XX_Count:Sum")).toMatchObject({ stat: "Sum", combine: "sum" });
    expect(() => planQuery("cpu")).toThrow(/unknown cloudwatch query/);
  });

  it("derives dimensions from ARNs", () => {
    expect(
      targetGroupDimension("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/shop-v1/73e2d6bc24d8a067"),
    ).toBe("targetgroup/shop-v1/73e2d6bc24d8a067");
    expect(
      loadBalancerDimension(
        "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/edge/50dc6c495c0c9188/f2f7dc8efc522ab2",
      ),
    ).toBe("app/edge/50dc6c495c0c9188");
    expect(() => targetGroupDimension("http://x")).toThrow(/not a target group/);
  });
});
