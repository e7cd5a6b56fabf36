text = "hello hello"
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
itos = {i: ch for ch, i in stoi.items()}

print(chars)
print(stoi)
ids = [stoi[ch] for ch in text]
print(ids)
print("".join(itos[i] for i in ids))
