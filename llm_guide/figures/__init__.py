"""The guide's figures, drawn with matplotlib: one module per page, beside its chapter.

Import a figure from the module of the page that shows it, and ``save`` from the style:
``from llm_guide.figures.attention import plot_attention_maps`` and
``from llm_guide.figures.style import save``. Each saved file is named after its page
(``attention-maps.svg``) and kept in ``docs/figures/``.

* ``style``: the look every figure shares, ``new_figure`` and ``save``
* ``tokenization``: chapter 2
* ``tensors``: chapter 3
* ``embeddings``: chapter 4
* ``positional_encoding``: chapter 5
* ``attention``: chapter 6
* ``transformer_block``: chapter 7
* ``weights``: chapter 8 (with ``gpt_mermaid``, a model's data flow as a diagram)
* ``gradient_descent``: chapter 9
* ``in_context_learning``: chapter 10
* ``putting_it_together``: chapter 11
* ``todays_models``: chapter 12
"""
