// Typeset the page's math with the vendored KaTeX (katex.min.js and contrib/auto-render.min.js
// are listed just before this file in mkdocs.yml).
//
// pymdownx.arithmatex (generic mode) leaves each formula in a span.arithmatex (inline, \( \))
// or div.arithmatex (display, \[ \]), and only those elements are read: a dollar sign in the
// prose or in code is never taken for math. Notebook pages show the notebook's markdown cells
// as nbconvert rendered them, with $ and $$ math in plain paragraphs, so there those cells
// (.jp-RenderedMarkdown) are read with $ and $$ too; code cells, their outputs and the hidden
// copy of each cell's source the copy button copies are left alone.
// A formula KaTeX cannot read is shown as its source in red (class katex-error, the message
// in its title) instead of stopping the page; the browser test fails on any.
(() => {
  const options = { throwOnError: false, strict: "ignore", ignoredClasses: ["tex2jax_ignore"] };
  const brackets = [
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: true },
  ];
  const dollars = [
    { left: "$$", right: "$$", display: true },
    { left: "$", right: "$", display: false },
  ];
  const typeset = () => {
    for (const el of document.querySelectorAll(".arithmatex")) {
      renderMathInElement(el, { ...options, delimiters: brackets });
    }
    for (const cell of document.querySelectorAll(".jp-Notebook .jp-RenderedMarkdown")) {
      renderMathInElement(cell, { ...options, delimiters: [...dollars, ...brackets] });
    }
  };
  // Material's document$ fires for the first page and for each page instant navigation would
  // load (it is off here, but math keeps working if it is turned on).
  if (typeof document$ !== "undefined") document$.subscribe(typeset);
  else document.addEventListener("DOMContentLoaded", typeset);
})();
