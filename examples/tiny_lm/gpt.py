"""tempo's `gpt` model (models/gpt.h) in PyTorch: the same modules under the same names, so
`GPT(...).load_state_dict(torch.load(ckpt)["state"]["model"])` loads a checkpoint that
`tempo train configs/tiny_lm.yaml` wrote, and the same computation, so the two can be timed
against each other (benchmarks/bench_gpt_step.cpp).

    python examples/tiny_lm/gpt.py generate CKPT [--prompt TEXT] [--tokens N]
"""
import argparse
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, width, heads, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)
        self.resid_drop = nn.Dropout(dropout)

    def forward(self, x):
        n, t, c = x.shape
        q, k, v = self.c_attn(x).split(c, dim=2)
        q, k, v = (y.view(n, t, self.heads, c // self.heads).transpose(1, 2) for y in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=True)
        return self.resid_drop(self.c_proj(y.transpose(1, 2).contiguous().view(n, t, c)))


class MlpBlock(nn.Module):
    def __init__(self, width, dropout):
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.c_proj = nn.Linear(4 * width, width)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.drop(self.c_proj(F.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, width, heads, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention(width, heads, dropout)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MlpBlock(width, dropout)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size=256, context_length=128, layers=2, heads=4, width=128, dropout=0.0,
                 tie_embeddings=True):
        super().__init__()
        self.context_length = context_length
        self.wte = nn.Embedding(vocab_size, width)
        self.wpe = nn.Embedding(context_length, width)
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = None if tie_embeddings else nn.Linear(width, vocab_size, bias=False)
        residual_std = 0.02 / math.sqrt(2 * layers)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if "ln_" in name:
                    p.fill_(0.0 if name.endswith("bias") else 1.0)
                elif name.endswith("bias"):
                    p.zero_()
                else:
                    p.normal_(0.0, residual_std if "c_proj.weight" in name else 0.02)

    def forward(self, tokens):
        t = tokens.shape[1]
        x = self.drop(self.wte(tokens) + self.wpe(torch.arange(t, device=tokens.device)))
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return x @ self.wte.weight.t() if self.lm_head is None else self.lm_head(x)

    def loss(self, logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def from_checkpoint(path, **options):
    """The model of a tempo checkpoint (options as in its config's model.gpt section)."""
    state = torch.load(path, weights_only=True)["state"]["model"]
    model = GPT(tie_embeddings="lm_head.weight" not in state, **options)
    model.load_state_dict(state)
    return model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate", help="sample text from a tiny_lm checkpoint")
    gen.add_argument("checkpoint")
    gen.add_argument("--prompt", default="This License")
    gen.add_argument("--tokens", type=int, default=200)
    gen.add_argument("--context-length", type=int, default=64)
    gen.add_argument("--layers", type=int, default=2)
    gen.add_argument("--heads", type=int, default=4)
    gen.add_argument("--width", type=int, default=128)
    args = parser.parse_args()
    model = from_checkpoint(args.checkpoint, context_length=args.context_length, layers=args.layers,
                            heads=args.heads, width=args.width)
    torch.manual_seed(0)
    tokens = torch.tensor([list(args.prompt.encode())])
    with torch.no_grad():
        for _ in range(args.tokens):
            logits = model(tokens[:, -args.context_length:])[:, -1]
            tokens = torch.cat([tokens, torch.multinomial(F.softmax(logits, -1), 1)], dim=1)
    print(bytes(tokens[0].tolist()).decode(errors="replace"))


if __name__ == "__main__":
    main()
