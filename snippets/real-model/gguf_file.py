# --8<-- [start:metadata]
import gguf
import numpy as np

from llm_guide.llama import smollm2_path

path = smollm2_path()
reader = gguf.GGUFReader(str(path))  # reads the header; the tensors stay on disk until used
keys = reader.fields["GGUF.kv_count"].contents()  # gguf also lists the header's counts as fields
size = path.stat().st_size / 1e6
print(f"{path.name}: {size:.1f} MB, {keys} metadata keys, {len(reader.tensors)} tensors")
for key in (
    "general.architecture",
    "llama.block_count",
    "llama.embedding_length",
    "llama.attention.head_count",
    "llama.attention.head_count_kv",
    "llama.feed_forward_length",
    "llama.rope.freq_base",
    "llama.context_length",
    "tokenizer.ggml.model",
    "tokenizer.ggml.pre",
):
    print(f"  {key:32} {reader.fields[key].contents()}")
for t in reader.tensors[:4]:
    print(f"  {t.name:24} {t.tensor_type.name:5} {tuple(int(n) for n in reversed(t.shape))}")
# --8<-- [end:metadata]
# --8<-- [start:block]
t = next(t for t in reader.tensors if t.name == "blk.0.attn_q.weight")
raw = t.data[0, :20]  # the first 20 bytes of the first row: one Q4_1 block, 32 weights
d = raw[0:2].view(np.float16)[0]  # the step between two levels
m = raw[2:4].view(np.float16)[0]  # the smallest weight of the block
nibbles = raw[4:20]  # 16 bytes of two 4-bit levels each: weights 0-15 low, 16-31 high
q = np.concatenate([nibbles & 0x0F, nibbles >> 4])
weights = np.float32(d) * q + np.float32(m)
print(f"d = {d:.4f}, m = {m:.4f}, levels {q[:8].tolist()} ...")
print("weights", ", ".join(f"{w:.4f}" for w in weights[:4]), "...")
reference = gguf.quants.dequantize(t.data, t.tensor_type)[0, :32]
print("the same as gguf's dequantize:", np.array_equal(weights, reference))
# --8<-- [end:block]
# --8<-- [start:sizes]
n = sum(int(t.n_elements) for t in reader.tensors)
stored = sum(int(t.n_bytes) for t in reader.tensors)
print(f"{n:,} weights")
for name, size in (("float32", 4 * n), ("float16", 2 * n), ("as stored", stored)):
    print(f"  {name:9} {size / 1e6:6.1f} MB  {8 * size / n:4.1f} bits per weight")
for kind in ("Q4_1", "Q8_0", "F32"):
    of_kind = [t for t in reader.tensors if t.tensor_type.name == kind]
    weights_of_kind = sum(int(t.n_elements) for t in of_kind)
    print(f"  {len(of_kind):3} tensors in {kind}: {weights_of_kind:>11,} weights")
# --8<-- [end:sizes]
