// Two fixes to the theme's own markup, found by axe-core's best-practice rules: the search
// dialog gets a name (screen readers announced "dialog" alone), and the small toolbar the
// theme adds to each code block (its copy button) stops being a navigation landmark: one
// unnamed "navigation" per block put dozens of identical stops in a screen reader's list of
// landmarks. The button inside keeps its name and its place in the tab order.
// The theme adds those toolbars after the page loads, so new ones are fixed as they appear.
(() => {
  const fix = () => {
    for (const dialog of document.querySelectorAll('.md-search[role="dialog"]:not([aria-label])')) {
      dialog.setAttribute("aria-label", "Search");
    }
    for (const toolbar of document.querySelectorAll("nav.md-code__nav:not([role])")) {
      toolbar.setAttribute("role", "none");
    }
  };
  fix();
  new MutationObserver(fix).observe(document.body, { childList: true, subtree: true });
})();
