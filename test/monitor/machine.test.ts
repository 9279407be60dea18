/** The flatten state machine and the breach message: pure rules. */
import { describe, expect, it } from "vitest";
import { dec } from "../../src/domain/decimal";
import { money } from "../../src/monitor/breaches";
import { transition } from "../../src/monitor/machine";

describe("flatten state machine", () => {
  it("M01 detected -> flattening -> flat, and nothing restarts a flat breach but a reopened position", () => {
    expect(transition("detected", "start")).toBe("flattening");
    expect(transition("flattening", "attemptFailed")).toBe("flattening");
    expect(transition("flattening", "flat")).toBe("flat");
    expect(transition("flat", "start")).toBeUndefined();
    expect(transition("flat", "sessionReady")).toBeUndefined();
    expect(transition("flat", "reopened")).toBe("flattening");
  });

  it("M02 a running flatten cannot be started twice; outages wait for the session", () => {
    expect(transition("flattening", "start")).toBeUndefined();
    expect(transition("flattening", "sessionDown")).toBe("waiting");
    expect(transition("waiting", "start")).toBeUndefined();
    expect(transition("waiting", "sessionReady")).toBe("flattening");
    expect(transition("flattening", "exhausted")).toBe("stuck");
    expect(transition("stuck", "attemptFailed")).toBeUndefined();
    expect(transition("stuck", "sessionReady")).toBe("flattening");
  });

  it("M03 money in messages has cents", () => {
    expect(money(dec("-512.5"))).toBe("-512.50");
    expect(money(dec("-512.505"))).toBe("-512.51");
    expect(money(dec("0.004"))).toBe("0.00");
    expect(money(dec("7"))).toBe("7.00");
  });
});
