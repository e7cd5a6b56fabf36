// MathJax reads this object when tex-chtml.js loads (it is listed right after this file).
// Material re-renders pages without a reload (instant navigation is off here, but keep
// the hook so math survives if it is turned on).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
  },
};

// Skip the first page: MathJax typesets it on its own, and clearing its cache while it
// does leaves every formula invisible (typeset, but no glyph CSS and no fonts loaded).
if (typeof document$ !== "undefined") {
  let first = true;
  document$.subscribe(() => {
    if (first) { first = false; return; }
    if (window.MathJax && MathJax.typesetPromise) {
      MathJax.startup.output.clearCache();
      MathJax.typesetClear();
      MathJax.texReset();
      MathJax.typesetPromise();
    }
  });
}
