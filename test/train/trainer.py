#!/usr/bin/env python3
"""Trains the small clinical llama (issue 19) from scratch with torch on the CPU.

Reads the corpus that test/train/prepare.ts writes (DATA/notes_train.jsonl, abstracts.jsonl,
notes_heldout.jsonl), learns a SentencePiece BPE vocabulary from the training text, and trains a
llama-architecture model (RMSNorm, rotary embeddings in llama.cpp's "norm" pairing, SwiGLU, tied
embeddings) whose tensors map one-to-one onto llama.cpp's GGUF names. Deterministic for a seed:
the data order is a function of (seed, step), and a run stopped at a stage boundary resumes from its
checkpoint (weights, optimizer, step) to the same result as one uninterrupted run.

Sub-commands:
  tokenizer  learn the vocabulary (OUT/tokenizer.model, OUT/vocab.json), print tokens/char on held-out notes
  bench      measure training tokens/s of a few shapes
  train      train (or resume) until --steps or --stage-minutes, checkpointing to OUT/checkpoint.pt
  export     write OUT/weights.bin + OUT/weights.json (F32 tensors in GGUF names and ggml shapes)
  heldout    held-out loss, perplexity and bits per character of the checkpoint (torch side)
"""
import argparse
import json
import math
import os
import random
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# Headers between a note and its copied-forward restatement in the copy-forward training examples.
COPY_HEADERS = ["\n\nFOLLOW-UP VISIT:\n", "\n\nINTERVAL HISTORY:\n", "\n\nPROGRESS NOTE:\n", "\n\nPRIOR NOTE REVIEWED:\n",
                "\n\nASSESSMENT AND PLAN:\n", "\n\nSUMMARY:\n", "\n\nDISCHARGE SUMMARY:\n", "\n\nLETTER TO REFERRING PHYSICIAN:\n"]

CONTROL_SYMBOLS = ["<|im_start|>", "<|im_end|>", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"]


def log(msg):
    print(msg, flush=True)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- tokenizer

def learn_tokenizer(args):
    import sentencepiece as spm
    os.makedirs(args.out, exist_ok=True)
    notes = read_jsonl(os.path.join(args.data, "notes_train.jsonl"))
    abstracts = read_jsonl(os.path.join(args.data, "abstracts.jsonl"))
    # Notes first and in full; a deterministic share of abstracts so the vocabulary stays note-shaped.
    rng = random.Random(args.seed)
    sample = abstracts[:]
    rng.shuffle(sample)
    sample = sample[: len(sample) // 4]
    text_path = os.path.join(args.out, "tokenizer_input.txt")
    with open(text_path, "w", encoding="utf-8") as f:
        for t in notes + sample:
            # SentencePiece reads one sentence per line; lines longer than its limit are skipped.
            for line in t.split("\n"):
                if line.strip():
                    f.write(line[:4000] + "\n")
    prefix = os.path.join(args.out, "tokenizer")
    spm.SentencePieceTrainer.train(
        input=text_path,
        model_prefix=prefix,
        model_type="bpe",
        vocab_size=args.vocab,
        character_coverage=0.9995,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        add_dummy_prefix=True,
        allow_whitespace_only_pieces=True,
        control_symbols=CONTROL_SYMBOLS,
        unk_id=0, bos_id=1, eos_id=2, pad_id=-1,
        num_threads=1,
        input_sentence_size=0,
        max_sentence_length=8192,
        minloglevel=2,
    )
    os.remove(text_path)
    sp = load_sp(args.out)
    vocab = []
    for i in range(sp.get_piece_size()):
        if sp.is_unknown(i):
            kind = 2
        elif sp.is_control(i):
            kind = 3
        elif sp.is_byte(i):
            kind = 6
        elif sp.is_unused(i):
            kind = 5
        else:
            kind = 1
        vocab.append({"piece": sp.id_to_piece(i), "score": sp.get_score(i), "type": kind})
    heldout = read_jsonl(os.path.join(args.data, "notes_heldout.jsonl"))
    ntok = sum(len(sp.encode(t)) for t in heldout)
    nchar = sum(len(t) for t in heldout)
    info = {
        "vocab_size": sp.get_piece_size(),
        "model_type": "bpe",
        "heldout_tokens": ntok,
        "heldout_chars": nchar,
        "heldout_tokens_per_char": ntok / nchar,
        "special": {s: sp.piece_to_id(s) for s in ["<unk>", "<s>", "</s>"] + CONTROL_SYMBOLS},
    }
    with open(os.path.join(args.out, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({"info": info, "vocab": vocab}, f, ensure_ascii=False)
    log(json.dumps(info))


def load_sp(out):
    import sentencepiece as spm
    return spm.SentencePieceProcessor(model_file=os.path.join(out, "tokenizer.model"))


# ---------------------------------------------------------------- model

class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, ctx, base=10000.0):
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(ctx, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    # llama.cpp LLAMA_ROPE_TYPE_NORM: rotates adjacent pairs (x0, x1), (x2, x3), ...
    # x: (B, H, T, D); cos/sin: (T, D/2)
    x1 = x[..., 0::2]
    x2 = x[..., 1::2]
    r1 = x1 * cos - x2 * sin
    r2 = x1 * sin + x2 * cos
    return torch.stack((r1, r2), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, d, heads, ffn):
        super().__init__()
        self.heads = heads
        self.attn_norm = RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.k = nn.Linear(d, d, bias=False)
        self.v = nn.Linear(d, d, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d)
        self.gate = nn.Linear(d, ffn, bias=False)
        self.up = nn.Linear(d, ffn, bias=False)
        self.down = nn.Linear(ffn, d, bias=False)

    def forward(self, x, cos, sin, mask):
        B, T, D = x.shape
        h = self.attn_norm(x)
        hd = D // self.heads
        q = self.q(h).view(B, T, self.heads, hd).transpose(1, 2)
        k = self.k(h).view(B, T, self.heads, hd).transpose(1, 2)
        v = self.v(h).view(B, T, self.heads, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd))
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, D)
        x = x + self.o(y)
        h = self.ffn_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Llama(nn.Module):
    def __init__(self, vocab, d, layers, heads, ffn, ctx):
        super().__init__()
        self.cfg = dict(vocab=vocab, d=d, layers=layers, heads=heads, ffn=ffn, ctx=ctx)
        self.embd = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList([Block(d, heads, ffn) for _ in range(layers)])
        self.norm = RMSNorm(d)
        cos, sin = rope_tables(d // heads, ctx)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        mask = torch.triu(torch.ones(ctx, ctx, dtype=torch.bool), diagonal=1)
        self.register_buffer("mask", mask, persistent=False)
        std = 0.02
        for name, p in self.named_parameters():
            if p.dim() == 2:
                # GPT-2 style: residual projections scaled down by depth.
                s = std / math.sqrt(2 * layers) if name.endswith(("o.weight", "down.weight")) else std
                nn.init.normal_(p, 0.0, s)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.embd(idx)
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.norm(x) @ self.embd.weight.t()  # tied output (llama.cpp uses token_embd when output.weight is absent)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


# ---------------------------------------------------------------- data

class Stream:
    """Training sequences as a pure function of (seed, step): each step's micro-batches are drawn with
    a generator seeded from (seed, step, micro), so resuming at step s sees the same data as a run
    that never stopped.

    Documents: notes (weight `note_share`) and abstracts. A note window of up to ctx-1 tokens becomes,
    with probability `fim_rate`, a fill-in-the-middle example in llama.cpp / node-llama-cpp's order
    <s> <fim_prefix> prefix <fim_suffix> suffix <fim_middle> middle </s>, cut at token boundaries.
    Plain windows are <s> + tokens (+ </s> where the document ends)."""

    def __init__(self, sp, data_dir, ctx, seed, note_share, fim_rate, copy_rate=0.0, cache_dir=None, quiet=False):
        self.ctx = ctx
        self.copy_rate = copy_rate
        self.sp = sp
        self.seed = seed
        self.note_share = note_share
        self.fim_rate = fim_rate
        self.bos, self.eos = sp.bos_id(), sp.eos_id()
        self.fim = [sp.piece_to_id(s) for s in ("<fim_prefix>", "<fim_suffix>", "<fim_middle>")]
        t0 = time.time()
        # The token ids are cached beside the checkpoint, so a resumed stage does not tokenize again.
        cache = os.path.join(cache_dir, f"tokens-{'notes' if note_share >= 1 else 'all'}.pt") if cache_dir else None
        if cache and os.path.exists(cache):
            self.notes, self.abstracts = torch.load(cache)
        else:
            self.notes = [sp.encode(t) for t in read_jsonl(os.path.join(data_dir, "notes_train.jsonl"))]
            # note_share 1: notes only (the quick pipeline test skips tokenizing 15M characters of abstracts).
            self.abstracts = [] if note_share >= 1 else [sp.encode(t) for t in read_jsonl(os.path.join(data_dir, "abstracts.jsonl"))]
            if cache:
                tmp = f"{cache}.{os.getpid()}.tmp"
                torch.save((self.notes, self.abstracts), tmp)
                os.replace(tmp, cache)
        # Copy-forward examples: a note's text, a visit header, then the same text again (what a follow-up
        # note written over the previous one, or a plan restating the assessment, looks like).
        self.copy_headers = [sp.encode(h) for h in COPY_HEADERS]
        if not quiet:
            log(f"data: {len(self.notes)} notes ({sum(map(len, self.notes))} tokens), "
                f"{len(self.abstracts)} abstracts ({sum(map(len, self.abstracts))} tokens), "
                f"tokenized in {time.time() - t0:.0f} s")

    def sequence(self, rng):
        ctx = self.ctx
        if self.copy_rate and rng.random() < self.copy_rate:
            return self.copy_sequence(rng)
        docs = self.notes if rng.random() < self.note_share else self.abstracts
        doc = docs[rng.randrange(len(docs))]
        fim = docs is self.notes and rng.random() < self.fim_rate
        room = ctx + 1 - (5 if fim else 2)
        start = 0 if len(doc) <= room or rng.random() < 0.15 else rng.randrange(len(doc) - room + 1)
        piece = doc[start:start + room]
        ends = start + room >= len(doc)
        if fim and len(piece) >= 3:
            a, b = sorted(rng.sample(range(1, len(piece)), 2))
            pre, mid, suf = piece[:a], piece[a:b], piece[b:]
            seq = [self.bos, self.fim[0]] + pre + [self.fim[1]] + suf + [self.fim[2]] + mid + [self.eos]
        else:
            seq = [self.bos] + piece + ([self.eos] if ends else [])
        # Pad short sequences with further text (a new document after </s>), never with a pad token.
        while len(seq) < ctx + 1:
            more = self.notes[rng.randrange(len(self.notes))]
            seq += [self.bos] + more[: ctx + 1 - len(seq) - 1]
        return seq[: ctx + 1]

    def copy_sequence(self, rng):
        ctx = self.ctx
        doc = self.notes[rng.randrange(len(self.notes))]
        size = rng.randrange(48, max(49, min(len(doc), ctx // 2)))
        start = rng.randrange(0, max(1, len(doc) - size))
        piece = doc[start:start + size]
        header = self.copy_headers[rng.randrange(len(self.copy_headers))]
        seq = [self.bos] + piece + header + piece
        while len(seq) < ctx + 1:
            seq += [self.eos, self.bos] + self.notes[rng.randrange(len(self.notes))][: ctx + 1 - len(seq) - 2]
        return seq[: ctx + 1]

    def batch(self, step, micro, size):
        rng = random.Random((self.seed * 1_000_003 + step) * 1009 + micro)
        rows = [self.sequence(rng) for _ in range(size)]
        t = torch.tensor(rows, dtype=torch.long)
        return t[:, :-1], t[:, 1:]


# ---------------------------------------------------------------- training

def lr_at(step, args):
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    p = min(1.0, (step - args.warmup) / max(1, args.steps - args.warmup))
    return args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * p))


def make_model(args, vocab):
    torch.manual_seed(args.seed)
    return Llama(vocab, args.width, args.layers, args.heads, args.ffn, args.ctx)


def make_optimizer(model, args):
    decay = [p for p in model.parameters() if p.dim() == 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": other, "weight_decay": 0.0}],
                             lr=args.lr, betas=(0.9, 0.95), eps=1e-8)


_init_recipes = {}


def init_recipe(path):
    """The recipe and step of the checkpoint a second stage starts from (read once: every save records it)."""
    if path not in _init_recipes:
        ck = torch.load(path)
        _init_recipes[path] = ck["recipe"] | {"trained_steps": ck["step"]}
    return _init_recipes[path]


def recipe_of(args, vocab):
    return {k: getattr(args, k) for k in ("seed", "layers", "width", "heads", "ffn", "ctx", "steps", "micro", "accum",
                                          "lr", "min_lr", "warmup", "wd", "note_share", "fim_rate", "threads")} | {"vocab": vocab} | (
        {"copy_rate": args.copy_rate} if args.copy_rate else {}) | ({"init": init_recipe(args.init)} if getattr(args, "init", None) else {})


def train(args):
    """Trains on one process, or on --procs data-parallel processes (torch.distributed, gloo over loopback):
    process r computes the micro-batches m of each step with m % procs == r and the gradients are summed
    across processes before the optimizer step, so each step sees the same micro-batches as on one process
    (the sum's float order differs, nothing else). Each process uses --threads threads."""
    if args.procs > 1:
        import torch.multiprocessing as mp
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        mp.spawn(train_rank, args=(args, port), nprocs=args.procs, join=True)
    else:
        train_rank(0, args, None)


def train_rank(rank, args, port):
    torch.set_num_threads(args.threads)
    procs = args.procs if port else 1
    if port:
        import torch.distributed as dist
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=procs)
    lead = rank == 0
    say = log if lead else (lambda _msg: None)
    sp = load_sp(args.out)
    vocab = sp.get_piece_size()
    ckpt_path = os.path.join(args.out, "checkpoint.pt")
    model = make_model(args, vocab)
    opt = make_optimizer(model, args)
    step = 0
    history = []
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path)
        if ck["recipe"] != recipe_of(args, vocab):
            sys.exit(f"checkpoint recipe differs from the arguments: {ck['recipe']} vs {recipe_of(args, vocab)}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = ck["step"]
        history = ck["history"]
        say(f"resumed at step {step}")
    elif args.init:
        # A second stage: the weights (not the optimizer) of another run's checkpoint, then this recipe.
        model.load_state_dict(torch.load(args.init)["model"])
        say(f"initialised from {args.init}")
    if step >= args.steps:
        say("already trained to --steps")
        return
    say(f"model: {param_count(model)} parameters ({json.dumps(model.cfg)}); "
        f"{args.micro * args.accum * args.ctx} tokens/step, {args.steps} steps, {procs} process(es)")
    stream = Stream(sp, args.data, args.ctx, args.seed, args.note_share, args.fim_rate, args.copy_rate, args.out, quiet=not lead)
    heldout = heldout_batches(sp, args) if lead else None
    params = list(model.parameters())

    def save():
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step, "history": history,
                    "recipe": recipe_of(args, vocab)}, tmp)
        os.replace(tmp, ckpt_path)

    t_stage = time.time()
    t_last = time.time()
    tokens_since = 0
    loss_sum = 0.0
    model.train()
    while step < args.steps:
        lr = lr_at(step, args)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        step_loss = 0.0
        for m in range(args.accum):
            if m % procs != rank:
                continue
            x, y = stream.batch(step, m, args.micro)
            loss = F.cross_entropy(model(x).view(-1, vocab), y.reshape(-1))
            (loss / args.accum).backward()
            step_loss += loss.item() / args.accum
        stop = 1.0 if lead and args.stage_minutes and time.time() - t_stage > args.stage_minutes * 60 else 0.0
        if procs > 1:
            import torch.distributed as dist
            flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
                             + [torch.tensor([step_loss, stop])])
            dist.all_reduce(flat)
            offset = 0
            for p in params:
                n = p.numel()
                p.grad = flat[offset:offset + n].view_as(p).clone()
                offset += n
            step_loss, stop = flat[offset].item(), flat[offset + 1].item()
        loss_sum += step_loss
        tokens_since += args.accum * args.micro * args.ctx
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if lead and (step % args.log_every == 0 or step == args.steps):
            dt = time.time() - t_last
            entry = {"step": step, "loss": round(loss_sum / args.log_every, 4), "lr": round(lr, 6),
                     "tok_s": round(tokens_since / dt, 1)}
            if step % args.eval_every == 0 or step == args.steps:
                entry["heldout_loss"] = round(evaluate(model, heldout), 4)
                model.train()
            history.append(entry)
            log(json.dumps(entry))
        if step % args.log_every == 0:
            loss_sum, tokens_since, t_last = 0.0, 0, time.time()
        if lead and step % args.save_every == 0:
            save()
        if stop:
            say(f"stage time up at step {step}")
            break
    if lead:
        save()
        log(f"saved step {step}")


def heldout_batches(sp, args, limit=None):
    """Held-out notes, each <s> + tokens + </s>, in ctx-token windows (no overlap); returns
    (list of (x, y) tensors, token count)."""
    rows = []
    for t in read_jsonl(os.path.join(args.data, "notes_heldout.jsonl")):
        ids = [sp.bos_id()] + sp.encode(t) + [sp.eos_id()]
        for s in range(0, len(ids) - 1, args.ctx):
            rows.append(ids[s:s + args.ctx + 1])
    if limit:
        rows = rows[:limit]
    return rows


def evaluate(model, rows, limit=48):
    model.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for r in rows[:limit]:
            t = torch.tensor([r], dtype=torch.long)
            logits = model(t[:, :-1])
            total += F.cross_entropy(logits.view(-1, logits.shape[-1]), t[0, 1:], reduction="sum").item()
            count += len(r) - 1
    return total / max(1, count)


def heldout_report(args):
    torch.set_num_threads(args.threads)
    sp = load_sp(args.out)
    model = make_model(args, sp.get_piece_size())
    ck = torch.load(os.path.join(args.out, "checkpoint.pt"))
    model.load_state_dict(ck["model"])
    rows = heldout_batches(sp, args)
    loss = evaluate(model, rows, limit=len(rows))
    log(json.dumps({"step": ck["step"], "heldout_loss": loss, "perplexity": math.exp(loss)}))


def bench(args):
    torch.set_num_threads(args.threads)
    vocab = args.vocab
    results = []
    for shape in args.shapes.split(","):
        layers, width, ffn = (int(v) for v in shape.split("x"))
        torch.manual_seed(0)
        model = Llama(vocab, width, layers, max(1, width // 64), ffn, args.ctx)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        x = torch.randint(0, vocab, (args.micro, args.ctx))
        times = []
        for i in range(args.bench_steps + 1):
            t0 = time.time()
            opt.zero_grad()
            F.cross_entropy(model(x).view(-1, vocab), x.reshape(-1)).backward()
            opt.step()
            if i:
                times.append(time.time() - t0)
        tps = args.micro * args.ctx / (sum(times) / len(times))
        n = param_count(model)
        results.append({"shape": shape, "params": n, "tok_s": round(tps, 1),
                        "gflop_s": round(6 * n * tps / 1e9, 1)})
        log(json.dumps(results[-1]))


def export(args):
    sp = load_sp(args.out)
    vocab = sp.get_piece_size()
    model = make_model(args, vocab)
    if args.untrained:
        # The same seeded initial weights the training started from: the eval's "untrained" baseline.
        ck = {"step": 0, "history": []}
    else:
        ck = torch.load(os.path.join(args.out, "checkpoint.pt"))
        model.load_state_dict(ck["model"])
    sd = model.state_dict()
    stem = "untrained" if args.untrained else "weights"
    names = [("token_embd.weight", "embd.weight")]
    for i in range(args.layers):
        for gg, tt in (("attn_norm", "attn_norm"), ("attn_q", "q"), ("attn_k", "k"), ("attn_v", "v"),
                       ("attn_output", "o"), ("ffn_norm", "ffn_norm"), ("ffn_gate", "gate"),
                       ("ffn_up", "up"), ("ffn_down", "down")):
            names.append((f"blk.{i}.{gg}.weight", f"blocks.{i}.{tt}.weight"))
    names.append(("output_norm.weight", "norm.weight"))
    tensors = []
    offset = 0
    with open(os.path.join(args.out, stem + ".bin"), "wb") as f:
        for gname, tname in names:
            t = sd[tname].detach().float().contiguous()
            data = t.numpy().tobytes()
            f.write(data)
            # ggml order: innermost (contiguous) dimension first.
            tensors.append({"name": gname, "shape": list(reversed(t.shape)), "offset": offset, "bytes": len(data)})
            offset += len(data)
    meta = {"recipe": recipe_of(args, vocab), "trained_steps": ck["step"], "history": ck["history"],
            "params": param_count(model), "tensors": tensors}
    with open(os.path.join(args.out, stem + ".json"), "w") as f:
        json.dump(meta, f)
    log(f"exported {len(tensors)} tensors, {offset} bytes, step {ck['step']}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["tokenizer", "bench", "train", "export", "heldout"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--ffn", type=int, default=688)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--micro", type=int, default=4)
    ap.add_argument("--accum", type=int, default=2)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--min_lr", type=float, default=2e-4)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--note_share", type=float, default=0.75)
    ap.add_argument("--fim_rate", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--copy_rate", type=float, default=0.0)
    ap.add_argument("--init", default=None, help="train: start from this checkpoint's weights (a second stage)")
    ap.add_argument("--procs", type=int, default=1, help="train: data-parallel processes (not part of the recipe)")
    ap.add_argument("--stage_minutes", type=float, default=0)
    ap.add_argument("--log_every", type=int, default=10)
    ap.add_argument("--eval_every", type=int, default=50)
    ap.add_argument("--save_every", type=int, default=25)
    ap.add_argument("--shapes", default="4x256x688,4x192x512,6x256x688")
    ap.add_argument("--bench_steps", type=int, default=3)
    ap.add_argument("--untrained", action="store_true", help="export: the initial weights instead of the checkpoint")
    args = ap.parse_args()
    {"tokenizer": learn_tokenizer, "bench": bench, "train": train, "export": export, "heldout": heldout_report}[args.command](args)


if __name__ == "__main__":
    main()
