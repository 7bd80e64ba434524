/** The token estimate used for servers without a tokenizer (Ollama): never below the truth, tighter once calibrated. */
import * as assert from "node:assert/strict";
import { CALIBRATION_MARGIN, SPECIAL_TOKENS_ALLOWANCE, TokenEstimator, utf8Bytes } from "../../../src/engine/remote/tokenEstimate";

describe("remote token estimate", () => {
  it("before calibration, counts one token per UTF-8 byte plus the special tokens", () => {
    const e = new TokenEstimator();
    assert.equal(e.calibrated, false);
    assert.equal(e.estimate("BP 120/80"), 9 + SPECIAL_TOKENS_ALLOWANCE);
    assert.equal(e.estimate("37.9°C"), utf8Bytes("37.9°C") + SPECIAL_TOKENS_ALLOWANCE, "° is two bytes");
  });

  it("after the server reports a prompt's size, estimates that prompt at no less than what it reported", () => {
    const e = new TokenEstimator();
    const prompt = "Patient reports chest pain radiating to the left arm. ".repeat(4);
    e.observe(prompt, 60);
    assert.ok(e.calibrated);
    assert.ok(e.estimate(prompt) >= 60, String(e.estimate(prompt)));
    assert.ok(e.estimate(prompt) < utf8Bytes(prompt), "tighter than one per byte");
    assert.ok(e.estimate(prompt) <= Math.ceil(60 * CALIBRATION_MARGIN) + SPECIAL_TOKENS_ALLOWANCE);
  });

  it("keeps the densest ratio seen: a cheaper report (a cached prefix) does not lower it", () => {
    const e = new TokenEstimator();
    const prompt = "Na 131, K 5.4, Cr 2.1, BNP 1,840 pg/mL, hs-TnT 38->41 ng/L. ";
    e.observe(prompt, 40);
    const before = e.estimate(prompt);
    e.observe(prompt, 5);
    assert.equal(e.estimate(prompt), before);
    e.observe(prompt, 50);
    assert.ok(e.estimate(prompt) > before);
  });

  it("ignores prompts too short to learn from and never exceeds the per-byte bound", () => {
    const e = new TokenEstimator();
    e.observe("hi", 2);
    assert.equal(e.calibrated, false);
    e.observe("x".repeat(20), 500); // a report denser than bytes is capped by the hard bound
    assert.equal(e.estimate("x".repeat(100)), 100 + SPECIAL_TOKENS_ALLOWANCE);
  });
});
