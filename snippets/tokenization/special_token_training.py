from llm_guide import corpora
from llm_guide.tokenizers import BPETokenizer, token_pieces  # the whole class, every method

rhyme = "<|endoftext|>".join(corpora.mary_lamb_sentences())
with_special = BPETokenizer.train(rhyme, num_merges=40)
without = BPETokenizer.train(rhyme, num_merges=40, special_tokens=())

marker = "<|endoftext|>"
print("special:", with_special.encode(marker, allowed_special="all"))
print("plain:  ", token_pieces(without, without.encode(marker)))
print(any(b"endof" in token for token in with_special.vocab.values()))
