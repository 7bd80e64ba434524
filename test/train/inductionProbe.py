"""Does the trained model copy from its context (induction), and can a short second stage teach it?

    /usr/bin/python3 test/train/inductionProbe.py --out .cache/train/clinical [--repeat-share 0.3 --steps 400 --lr 1e-3]

Measures, on the first 24 held-out notes, the loss (nats/token) on a 100-token stretch of the note and on
the same stretch again after "FOLLOW-UP VISIT:": a model that copies has a much lower loss on the second
copy. With --steps > 0 it then trains a probe stage from the checkpoint in --out (not saved over it): each
sequence is, with probability --repeat-share, random vocabulary tokens in runs of 16-95 repeated (the
classic induction task, where only copying lowers the loss), else the fixture's own data stream (notes,
abstracts, FIM, copy-forward examples), micro-batch 8 x ctx, AdamW, 20 warm-up steps then cosine to 2e-4;
it reports the two losses every 50 steps and the held-out loss (trainer.evaluate) at the end. One thread.
docs/trained-model.md gives what it showed.
"""
import argparse
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trainer as T  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True, help="a training run's folder (checkpoint.pt, tokenizer, data/)")
    ap.add_argument("--repeat-share", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    ck = torch.load(os.path.join(args.out, "checkpoint.pt"))
    r = ck["recipe"]
    sp = T.load_sp(args.out)
    vocab = sp.get_piece_size()
    model = T.Llama(vocab, r["width"], r["layers"], r["heads"], r["ffn"], r["ctx"])
    model.load_state_dict(ck["model"])
    data = os.path.join(args.out, "data")
    held = T.heldout_batches(sp, argparse.Namespace(data=data, ctx=r["ctx"]))
    notes = [sp.encode(t) for t in T.read_jsonl(os.path.join(data, "notes_heldout.jsonl"))[:24]]
    header = sp.encode("FOLLOW-UP VISIT:")

    def copy_losses():
        model.eval()
        first = second = 0.0
        with torch.no_grad():
            for ids in notes:
                piece = ids[:100]
                t = torch.tensor([[sp.bos_id()] + piece + header + piece])
                loss = F.cross_entropy(model(t[:, :-1])[0], t[0, 1:], reduction="none")
                first += loss[: len(piece)].mean().item()
                second += loss[-len(piece):].mean().item()
        model.train()
        return round(first / len(notes), 3), round(second / len(notes), 3)

    def repeats(rng, ctx):
        seq = [sp.bos_id()]
        while len(seq) < ctx + 1:
            run = [rng.randrange(8, vocab) for _ in range(rng.randrange(16, 96))]
            seq += run + run
        return seq[: ctx + 1]

    print(f"before: copy losses (first, second) {copy_losses()}, held-out {T.evaluate(model, held):.4f}", flush=True)
    if args.steps <= 0:
        return
    stream = T.Stream(sp, data, r["ctx"], args.seed, r["note_share"], r["fim_rate"], r.get("copy_rate", 0.0), args.out)
    opt = T.make_optimizer(model, argparse.Namespace(lr=args.lr, wd=r["wd"]))
    started = time.time()
    for step in range(args.steps):
        lr = args.lr * (step + 1) / 20 if step < 20 else 2e-4 + 0.5 * (args.lr - 2e-4) * (1 + math.cos(math.pi * (step - 20) / max(1, args.steps - 20)))
        for g in opt.param_groups:
            g["lr"] = lr
        rng = random.Random(1000 + step)
        rows = [repeats(rng, r["ctx"]) if rng.random() < args.repeat_share else stream.sequence(rng) for _ in range(8)]
        t = torch.tensor(rows)
        loss = F.cross_entropy(model(t[:, :-1]).reshape(-1, vocab), t[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if (step + 1) % 50 == 0:
            print(f"step {step + 1}: loss {loss.item():.3f}, copy losses {copy_losses()}, {time.time() - started:.0f} s", flush=True)
    print(f"after: held-out {T.evaluate(model, held):.4f}", flush=True)


if __name__ == "__main__":
    main()
