import torch

g = torch.Generator().manual_seed(0)
segments = torch.randint(26, (5000, 12), generator=g).tolist()  # 12 letters, repeats allowed
ambiguous = 0
for seg in segments:
    followers: dict[int, set[int]] = {}
    # in the repeat, the last letter is followed by the first
    for a, b in zip(seg, seg[1:] + seg[:1]):
        followers.setdefault(a, set()).add(b)
    ambiguous += sum(len(followers[a]) > 1 for a in seg)
share = ambiguous / (len(segments) * 12)
print(f"{share:.1%} of positions in a repeat would have more than one right answer")
