import * as assert from "node:assert/strict";
import fc from "fast-check";
import { findWindowSlide } from "../../../src/engine/windowSlide";

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

describe("KV reuse across a window jump", () => {
  it("erases the dropped middle between a kept head and the new window", () => {
    // cached: BOS, header 1000-1002, old window 0..99; prompt: BOS, header, window 40..99 then typed 500..502
    const cached = [1, 1000, 1001, 1002, ...range(0, 100)];
    const prompt = [1, 1000, 1001, 1002, ...range(40, 100), 500, 501, 502];
    assert.deepEqual(findWindowSlide(cached, prompt), { start: 4, end: 44 });
  });

  it("does nothing when the prompt extends the cache", () => {
    assert.equal(findWindowSlide([1, ...range(0, 50)], [1, ...range(0, 60)]), undefined);
  });

  it("does nothing when the prompt does not continue the cache", () => {
    assert.equal(findWindowSlide([1, ...range(0, 100)], [1, ...range(200, 260)]), undefined);
  });

  it("does nothing on an empty cache or a short remainder", () => {
    assert.equal(findWindowSlide([], [1, 2, 3]), undefined);
    assert.equal(findWindowSlide([1, ...range(0, 100)], [1, ...range(90, 100)]), undefined);
  });

  it("after erasing, the cache is a prefix-compatible start of the prompt (property)", () => {
    let slid = 0;
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 0, maxLength: 5 }),
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 20, maxLength: 120 }),
        fc.nat(),
        fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 10 }),
        (head, window, cut, typed) => {
          const drop = cut % window.length;
          const cached = [...head, ...window];
          const prompt = [...head, ...window.slice(drop), ...typed];
          const slide = findWindowSlide(cached, prompt);
          if (!slide) return;
          slid++;
          const kept = [...cached.slice(0, slide.start), ...cached.slice(slide.end)];
          // Whatever was kept must agree with the prompt on the first MIN_SLIDE_OVERLAP tokens after the head.
          const probeEnd = Math.min(kept.length, prompt.length, slide.start + 16);
          assert.deepEqual(kept.slice(0, probeEnd), prompt.slice(0, probeEnd));
        },
      ),
      { numRuns: 2000 },
    );
    // Not vacuous: the property only checks runs that found a slide; enough of them must have.
    assert.ok(slid > 200, `${slid} of 2000 runs found a slide to check`);
  });
});
