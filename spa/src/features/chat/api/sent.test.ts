import { describe, expect, it } from "vitest";
import { describeChatError } from "@/features/chat/api/frames";
import { markRefused, markStarted, type LocalMessage } from "@/features/chat/api/sent";

const two: LocalMessage[] = [{ clientId: "a", content: "one" }, { clientId: "b", content: "two" }];

describe("sent messages", () => {
  it("a refusal marks the oldest waiting message, and the next start goes to the one after it", () => {
    const refused = markRefused(two, "busy")!;
    expect(refused[0]!.refused).toBe("busy");
    const started = markStarted(refused, "e1");
    expect(started[0]!.executionId).toBeUndefined();
    expect(started[1]!.executionId).toBe("e1");
  });

  it("a start seen twice (after a reconnect) changes nothing", () => {
    const once = markStarted(two, "e1");
    expect(markStarted(once, "e1")).toBe(once);
  });

  it("a refusal with nothing waiting is reported to the caller", () => {
    expect(markRefused(markStarted(markStarted(two, "e1"), "e2"), "busy")).toBeNull();
  });
});

describe("error words", () => {
  it.each([
    ["rate_limited", /too many|as many replies/i],
    ["insufficient_credit", /credit/],
    ["tenant_cap_reached", /workspace.*monthly spending limit/],
    ["user_cap_reached", /personal monthly spending limit/],
    ["session_busy", /still answering/],
    ["provider_unavailable", /provider is not answering/],
    ["provider_rate_limited", /overloaded/],
  ])("%s is explained in plain words", (code, words) => {
    expect(describeChatError(code)).toMatch(words);
  });

  it("an unknown code still gets a sentence, never the code", () => {
    expect(describeChatError("weird_code")).not.toContain("weird_code");
  });
});
